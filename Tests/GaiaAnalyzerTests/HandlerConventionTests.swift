import Foundation
import GaiaAnalyzer
import GaiaCore
import Testing

/// Entry points of other platforms: which file and handler, and what their settings weigh.
struct HandlerConventionTests {
    func analyze(_ files: [String: String]) throws -> FunctionManifest {
        let bytes = files.mapValues { Array($0.utf8) }
        let entry = try #require(FunctionSource.entryPoint(among: bytes))
        return ExecutionModeAnalyzer().analyze(FunctionSource(files: bytes, entryPoint: entry))
    }

    @Test func aPlatformsGPURequestAroundCPUCodeIsOnlyAHint() throws {
        let m = try analyze(["app.py": """
            import modal
            import numpy as np

            app = modal.App("stats")

            @app.function(gpu="A10G")
            def summarize(values: list) -> dict:
                a = np.asarray(values)
                return {"mean": float(a.mean()), "std": float(a.std())}
            """])
        #expect(m.convention == .modal && m.handler == "summarize")
        #expect(m.mode == .cpu, "\(m.rationale)")
        #expect(m.evidence.contains { $0.kind == .platformHint && $0.weight == 0 && $0.detail.contains(#"gpu="A10G""#) })
        #expect(m.rationale.contains("is only a hint: this code never places its work on a GPU"), "\(m.rationale)")
    }

    @Test func aGPURequestTheCodeHonoursAgrees() throws {
        let m = try analyze(["service.py": """
            import bentoml
            import torch
            from transformers import AutoModelForCausalLM

            @bentoml.service(resources={"gpu": 1})
            class Chat:
                def __init__(self):
                    self.model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-3.1-8B-Instruct").to("cuda")

                @bentoml.api
                def generate(self, prompt: str) -> str:
                    return self.model.generate(prompt)
            """])
        #expect(m.convention == .bentoML && m.handler == "Chat" && m.mode == .gpu, "\(m.rationale)")
        #expect(m.rationale.contains("the platform's settings agree"), "\(m.rationale)")
    }

    /// LitServe passes the device to `setup(self, device)`: a model moved there follows the rung,
    /// as one moved to `context.device` does.
    @Test func litServesDeviceFlowsLikeTheContexts() throws {
        let m = try analyze(["server.py": """
            import litserve as ls
            import torch
            import torchvision

            class ImageAPI(ls.LitAPI):
                def setup(self, device):
                    self.device = device
                    self.model = torchvision.models.resnet50(weights=None).eval().to(device)

                def predict(self, x):
                    with torch.inference_mode():
                        return self.model(torch.rand((8, 3, 224, 224), device=self.device)).argmax(1).tolist()

            if __name__ == "__main__":
                ls.LitServer(ImageAPI(), accelerator="gpu", max_batch_size=16).run(port=8000)
            """])
        #expect(m.convention == .litServe && m.handler == "ImageAPI")
        #expect(m.mode == .gpuPreferred, "\(m.rationale)")
        let server = """
            import litserve as ls
            class A(ls.LitAPI):
                pass
            ls.LitServer(A(), max_batch_size=16, accelerator="cuda")
            """
        let entry = try #require(HandlerConventions.detect(bytes: Array(server.utf8)))
        #expect(entry.maxBatch == 16 && entry.gpuHints.map(\.detail) == [#"LitServer(accelerator="cuda")"#])
    }

    /// The file with a platform's handler is the entry point, whatever the others define.
    @Test func theEntryPointIsTheFileWithAKnownHandler() throws {
        let files: [String: [UInt8]] = [
            "utils.py": Array("def normalize(x):\n    return x\n".utf8),
            "predict.py": Array("from cog import BasePredictor\nclass Predictor(BasePredictor):\n    def predict(self, x: int) -> int:\n        return x\n".utf8),
            "model/helpers.py": Array("class Model:\n    def predict(self, x):\n        return x\n".utf8),
        ]
        let found = try #require(FunctionSource.handler(among: files))
        #expect(found.file == "predict.py" && found.entry?.convention == .cog && found.entry?.handler == "Predictor")
        // Gaia's own handle wins over a weaker sign in another file.
        let mixed = files.merging(["handler.py": Array("def handle(payload, context):\n    return payload\n".utf8)]) { $1 }
        #expect(FunctionSource.handler(among: mixed)?.file == "handler.py")
    }

    @Test func signaturesSeparateTheHTTPShapes() throws {
        func convention(_ source: String) -> HandlerConvention? { HandlerConventions.detect(bytes: Array(source.utf8))?.convention }
        #expect(convention("def handle(req):\n    return req\n") == .openFaaS)
        #expect(convention("def handle(event, context):\n    return {'statusCode': 200, 'body': event.body}\n") == .openFaaSHTTP)
        #expect(convention("def handle(payload, context):\n    return payload\n") == .gaia)
        #expect(convention("def lambda_handler(event, context):\n    return event['numbers']\n") == .awsLambda)
        #expect(convention("import json\ndef lambda_handler(event, context):\n    return json.loads(event['body'])\n") == .awsLambdaHTTP)
        #expect(convention("def new():\n    return F()\nclass F:\n    async def handle(self, scope, receive, send):\n        pass\n") == .knativeFuncASGI)
        #expect(convention("import runpod\ndef go(job):\n    return 1\nrunpod.serverless.start({'handler': go})\n").map { "\($0)" } == "runpod")
        #expect(HandlerConventions.detect(bytes: Array("import runpod\ndef go(job):\n    return 1\nrunpod.serverless.start({'handler': go})\n".utf8))?.handler == "go")
        #expect(convention("def run(x):\n    return x\n") == nil)
    }

    @Test func aFolderWithNoKnownHandlerIsRefusedWithTheList() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-unknown-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("def run(x):\n    return x\n".utf8).write(to: URL(fileURLWithPath: folder + "/tool.py"))
        try Data("X = 1\n".utf8).write(to: URL(fileURLWithPath: folder + "/config.py"))
        #expect {
            _ = try FunctionSource.load(path: folder)
        } throws: { error in
            let text = "\(error)"
            return text.contains("none of its 2 Python file(s) defines one Gaia knows") && text.contains("Cog: class Predictor(BasePredictor)")
                && text.contains("AWS Lambda: lambda_handler(event, context)")
        }
    }
}
