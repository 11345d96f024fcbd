import GaiaAnalyzer
import GaiaCore
import Testing

/// Analyzes in-memory files; the first is the entry point.
func analyze(_ entry: String, _ others: [String: String] = [:], override: ExecutionMode? = nil) -> FunctionManifest {
    var files = others.mapValues { Array($0.utf8) }
    files["handler.py"] = Array(entry.utf8)
    return ExecutionModeAnalyzer().analyze(FunctionSource(files: files, entryPoint: "handler.py"), name: "t", override: override)
}

extension FunctionManifest {
    func has(_ kind: EvidenceKind, line: Int? = nil) -> Bool {
        evidence.contains { $0.kind == kind && (line == nil || $0.line == line) }
    }
}

/// Each evidence kind, and the ways code hides or fakes it.
struct EvidenceTests {
    @Test(arguments: [
        "import torch\nx = torch.zeros(3).cuda()\n",
        "import torch\nm = torch.nn.Linear(4, 4).to('cuda:0')\n",
        "import torch\nx = torch.ones(2, device='cuda')\n",
        "import torch\ndev = torch.device('cuda')\n",
        "import tensorflow as tf\nwith tf.device('/GPU:0'):\n    y = tf.ones([2])\n",
        "import jax\nd = jax.devices('gpu')[0]\n",
        "import onnxruntime as ort\ns = ort.InferenceSession('m.onnx', providers=['CUDAExecutionProvider'])\n",
        "import cupy as cp\nx = cp.arange(10)\n",
        "from numba import cuda\n@cuda.jit\ndef k(a):\n    pass\n",
        "import xgboost as xgb\nm = xgb.XGBClassifier(tree_method='gpu_hist')\n",
    ])
    func explicitGPUPlacementGivesGPU(_ source: String) {
        let m = analyze(source)
        #expect(m.mode == .gpu, "\(m.rationale)")
        #expect(m.has(.explicitGPU, line: 2) || m.has(.explicitGPU, line: 1) || m.has(.explicitGPU, line: 3))
    }

    /// A framework in requirements.txt weighs as an import of it would (and one the code imports
    /// is not counted twice).
    @Test func aRequirementIsEvidenceLikeAnImport() {
        let handler = Array("import importlib\ndef handle(payload, context):\n    return importlib.import_module(payload['m'])\n".utf8)
        func analyzed(_ requirements: String) -> FunctionManifest {
            ExecutionModeAnalyzer().analyze(
                FunctionSource(files: ["handler.py": handler], entryPoint: "handler.py", requirements: Array(requirements.utf8)), name: "t")
        }
        let required = analyzed("# model\nnumpy\ntorch==2.3.0\n")
        let torch = required.evidence.first { $0.file == "requirements.txt" }
        #expect(torch?.line == 3 && torch?.kind == .frameworkImport && torch?.detail == "requires torch (requirements.txt)", "\(required.evidence)")
        #expect(required.frameworks.contains("torch"))
        let imported = analyze("import torch\ndef handle(payload, context):\n    return 1\n")
        #expect(required.mode == imported.mode && required.confidence == imported.confidence, "\(required.rationale) vs \(imported.rationale)")
        #expect(analyzed("tensorflow-gpu>=2.15\n").has(.defaultGPU), "TensorFlow places work on a visible GPU")
        #expect(analyzed("cupy-cuda12x\n").mode == .gpu, "cupy needs a GPU")
        #expect(analyzed("scikit-learn\n").has(.cpuFramework))
        let both = ExecutionModeAnalyzer().analyze(
            FunctionSource(files: ["handler.py": Array("import torch\n".utf8)], entryPoint: "handler.py", requirements: Array("torch\n".utf8)), name: "t")
        #expect(!both.evidence.contains { $0.file == "requirements.txt" }, "an imported framework is not counted twice")
    }

    @Test func aliasesAndFromImportsResolve() {
        #expect(analyze("import torch as T\nx = T.randn(8, device='cuda')\n").mode == .gpu)
        #expect(analyze("from torch import cuda, randn\nx = randn(8).cuda()\n").mode == .gpu)
        let m = analyze("from transformers import AutoModelForCausalLM as LM\nm = LM.from_pretrained('gpt2')\n")
        #expect(m.has(.modelLoad, line: 2))
        #expect(m.mode == .cpuPreferred, "transformers keeps the model on the CPU: \(m.rationale)")
    }

    @Test func importsInsideFunctionsAndImportlibCount() {
        #expect(analyze("def handle(p, c):\n    import torch\n    return torch.ones(2).cuda()\n").mode == .gpu)
        #expect(analyze("import importlib\nt = importlib.import_module('torch')\nx = t.ones(1, device='cuda')\n").mode == .gpu)
    }

    @Test func aLocalVariableNamedTorchShadowsTheModule() {
        let m = analyze("def handle(payload, context):\n    torch = {'device': 'x'}\n    return torch.get('cuda')\n")
        #expect(m.mode == .cpu)
        let param = analyze("import torch\ndef handle(payload, torch):\n    return torch.randn(4096, 4096)\n")
        #expect(!param.has(.tensorWork), "a parameter named torch is not the module: \(param.evidence)")
    }

    @Test func deadCodeDoesNotCount() {
        #expect(analyze("import numpy as np\nif False:\n    x = np.zeros(3).cuda()\n").mode == .cpu)
        #expect(analyze("DEBUG = 0\nif DEBUG:\n    import cupy\n").mode == .cpu)
        #expect(analyze("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n").frameworks.isEmpty)
        #expect(analyze("def handle(p, c):\n    return p\nif __name__ == '__main__':\n    import torch\n    torch.ones(1).cuda()\n").mode == .cpu)
        #expect(analyze("while False:\n    import cupy\n").mode == .cpu)
    }

    @Test func commentsAndStringsThatMentionCUDADoNotCount() {
        let m = analyze("# model.cuda()\n'''device=\"cuda\" and .to(\"cuda\")'''\nNOTE = 'import torch; x.cuda()'\ndef handle(p, c):\n    return 'cuda'\n")
        #expect(m.mode == .cpu)
        #expect(m.evidence.isEmpty)
    }

    @Test func optionalDeviceGivesGPUPreferredNotGPU() {
        let m = analyze("""
            import torch
            device = "cuda" if torch.cuda.is_available() else "cpu"
            model = torch.nn.Linear(4096, 4096).to(device)
            """)
        #expect(m.mode == .gpuPreferred, "\(m.rationale)")
        #expect(m.has(.gpuCheck, line: 2) && m.has(.optionalGPU, line: 3))
        #expect(!m.has(.explicitGPU))
    }

    @Test func gpuCallsGuardedByAnAvailabilityCheckAreOptional() {
        let m = analyze("import torch\nm = torch.nn.Conv2d(3, 64, 3)\nif torch.cuda.is_available():\n    m = m.cuda()\n")
        #expect(m.mode == .gpuPreferred)
        #expect(m.has(.optionalGPU, line: 4))
    }

    @Test func constantPropagationSizesTensors() {
        let big = analyze("import torch\nN = 4096\na = torch.randn(N, N)\nb = a @ a\n")
        #expect(big.estimatedWork.maxTensorElements == Double(4096 * 4096))
        #expect(big.estimatedWork.flops == Double(2 * 4096 * 4096 * 4096))
        #expect(big.mode == .cpuPreferred, "torch keeps the tensors on the CPU: \(big.rationale)")
        let placed = analyze("import torch\nN = 4096\ndef handle(p, context):\n    a = torch.randn(N, N, device=context.device)\n    return a @ a\n")
        #expect(placed.mode == .gpuPreferred, "\(placed.rationale)")
        let small = analyze("import torch\nN = 16\nM = N * 2\na = torch.randn((N, M))\n")
        #expect(small.estimatedWork.maxTensorElements == Double(16 * 32))
        #expect(small.mode == .cpuPreferred)
    }

    @Test func modelNamesGiveSizes() {
        let llm = analyze("from transformers import AutoModelForCausalLM\nm = AutoModelForCausalLM.from_pretrained('TinyLlama/TinyLlama-1.1B-Chat-v1.0')\n")
        #expect(llm.estimatedWork.modelParameters == 1.1e9)
        let resnet = analyze("import torchvision\nm = torchvision.models.resnet18()\n")
        #expect(resnet.estimatedWork.modelParameters == 11.7e6)
        #expect(resnet.mode == .cpuPreferred)
        let minilm = analyze("from sentence_transformers import SentenceTransformer\nm = SentenceTransformer('all-MiniLM-L6-v2')\n")
        #expect(minilm.mode == .cpuPreferred)
    }

    @Test func generationInALoopIsHeavy() {
        let m = analyze("""
            from transformers import AutoModelForCausalLM
            model = AutoModelForCausalLM.from_pretrained("sshleifer/tiny-gpt2", device_map="auto")
            def handle(payload, context):
                for prompt in payload:
                    model.generate(prompt)
            """)
        #expect(m.has(.generation, line: 5))
        #expect(m.has(.tensorLoop, line: 5))
        #expect(m.estimatedWork.generates && m.estimatedWork.tensorWorkInLoop)
        #expect(m.mode == .gpuPreferred)
    }

    @Test func anAvailabilityCheckAlonePlacesNothing() {
        let m = analyze("import torch\ndef handle(p, c):\n    return {'cuda': torch.cuda.is_available(), 'n': torch.cuda.device_count()}\n")
        #expect(m.mode == .cpuPreferred, "\(m.rationale)")
        #expect(m.has(.gpuCheck, line: 3) && !m.has(.optionalGPU))
    }

    @Test func devicesFlowThroughVariablesAttributesAndArguments() {
        let pinned = analyze("import torch\ndevice = torch.device('cpu')\nm = torch.nn.Conv2d(3, 64, 3).to(device)\n")
        #expect(pinned.mode == .cpu && pinned.has(.cpuPin, line: 3), "\(pinned.rationale)")
        let attribute = analyze("""
            import torchvision
            class P:
                def setup(self):
                    self.device = "cuda"
                    self.model = torchvision.models.resnet50().to(self.device)
            """)
        #expect(attribute.mode == .gpu && attribute.has(.explicitGPU, line: 5), "\(attribute.rationale)")
        let argument = analyze("""
            import torch
            m = torch.nn.Linear(4096, 4096)
            def run(x, device):
                return m.to(device)(x.to(device))
            def handle(p, c):
                return run(torch.ones(4096), "cuda:0")
            """)
        #expect(argument.mode == .gpu && argument.has(.explicitGPU, line: 4), "\(argument.rationale)")
        let defaulted = analyze("import torch\nm = torch.nn.Linear(4096, 4096)\ndef run(x, device='cuda'):\n    return m.to(device)(x)\n")
        #expect(defaulted.mode == .gpu, "\(defaulted.rationale)")
        let branches = analyze("""
            import torch
            if torch.cuda.is_available():
                device = "cuda"
            else:
                device = "cpu"
            m = torch.nn.Conv2d(3, 64, 3).to(device)
            """)
        #expect(branches.mode == .gpuPreferred && branches.has(.optionalGPU, line: 6), "\(branches.rationale)")
    }

    @Test func eachFrameworksDefaultPlacementDecides() {
        let keras = analyze("import keras\nfrom keras import layers\nm = keras.Sequential([layers.Conv2D(32, 3), layers.Dense(10)])\n")
        #expect(keras.mode == .gpuPreferred && keras.evidence.contains { $0.kind == .defaultGPU }, "\(keras.rationale)")
        let torch = analyze("import torchvision\nm = torchvision.models.resnet50()\n")
        #expect(torch.mode == .cpuPreferred && torch.rationale.contains("context.device"), "\(torch.rationale)")
        let pipeline = analyze("from transformers import pipeline\np = pipeline('summarization', model='facebook/bart-large-cnn')\n")
        #expect(pipeline.mode == .gpuPreferred, "\(pipeline.rationale)")
        let pipelineCPU = analyze("from transformers import pipeline\np = pipeline('summarization', model='facebook/bart-large-cnn', device=-1)\n")
        #expect(pipelineCPU.mode == .cpu, "\(pipelineCPU.rationale)")
        let llama = analyze("from llama_cpp import Llama\nllm = Llama(model_path='/m/llama-7b.gguf', n_gpu_layers=-1)\ndef handle(p, c):\n    return llm(p)\n")
        #expect(llama.mode == .gpuPreferred && llama.has(.optionalGPU, line: 2), "\(llama.rationale)")
        let llamaCPU = analyze("from llama_cpp import Llama\nllm = Llama(model_path='/m/llama-7b.gguf', n_gpu_layers=0)\n")
        #expect(llamaCPU.mode == .cpu && llamaCPU.has(.cpuPin, line: 2), "\(llamaCPU.rationale)")
        let ctransformers = analyze("from ctransformers import AutoModelForCausalLM\nm = AutoModelForCausalLM.from_pretrained('TheBloke/Llama-2-7B-GGUF', gpu_layers=50)\n")
        #expect(ctransformers.mode == .gpuPreferred, "\(ctransformers.rationale)")
        let tfCPU = analyze("import tensorflow as tf\nm = tf.keras.applications.ResNet50()\nwith tf.device('/CPU:0'):\n    y = m(x)\n")
        #expect(tfCPU.mode == .cpu, "\(tfCPU.rationale)")
    }

    @Test func onnxRuntimeProviders() {
        let fallback = analyze("import onnxruntime as ort\ns = ort.InferenceSession('m.onnx', providers=['CUDAExecutionProvider', 'CPUExecutionProvider'])\n")
        #expect(fallback.has(.optionalGPU))
        let pinned = analyze("import onnxruntime as ort\ns = ort.InferenceSession('resnet50.onnx', providers=['CPUExecutionProvider'])\n")
        #expect(pinned.mode == .cpu, "\(pinned.rationale)")
    }

    @Test func idleAndIOWorkIsCPU() {
        let m = analyze("import time, requests\ndef handle(p, c):\n    time.sleep(1)\n    return requests.get('http://x').text\n")
        #expect(m.mode == .cpu)
        #expect(m.has(.idleIO, line: 3) && m.has(.idleIO, line: 4))
    }

    @Test func numpyComputeIsCPUWithAReason() {
        let m = analyze("import numpy as np\na = np.ones((4096, 4096))\nb = np.linalg.inv(a)\n")
        #expect(m.mode == .cpu)
        #expect(m.has(.cpuCompute, line: 3))
        #expect(m.rationale.contains("numpy/scipy cannot use a GPU"))
    }

    @Test func localModulesAreFollowed() {
        let m = analyze("from .model import build\nimport helpers\n", [
            "model.py": "import torch\ndef build():\n    return torch.nn.Linear(2, 2).cuda()\n",
            "helpers.py": "import time\n",
            "unused.py": "import cupy\n",
        ])
        #expect(m.mode == .gpu)
        #expect(m.evidence.contains { $0.file == "model.py" && $0.line == 3 && $0.kind == .explicitGPU })
        #expect(!m.evidence.contains { $0.file == "unused.py" }, "files the entry point never imports do not count")
    }

    @Test func syntaxErrorsGiveAPartialBestEffortDecision() {
        let m = analyze("import torch\nx = torch.ones(3).cuda()\ndef broken(:\n    pass\n")
        #expect(m.partial)
        #expect(m.mode == .gpu)
        #expect(m.rationale.contains("partial"))
        #expect(m.diagnostics.first?.hasPrefix("handler.py:3:") == true)
        #expect(m.confidence < 0.95)
    }

    @Test func theUsersOverrideWinsAndIsRecorded() {
        let m = analyze("def handle(p, c):\n    return p\n", override: .gpu)
        #expect(m.mode == .gpu)
        #expect(m.detectedMode == .cpu)
        #expect(m.modeOverride == .gpu)
    }

    @Test func everyEvidenceHasAPlaceAndAWeight() {
        let m = analyze("import torch\nfrom transformers import pipeline\np = pipeline('text-generation', model='gpt2', device_map='auto')\n")
        for e in m.evidence {
            #expect(e.line >= 1 && e.file == "handler.py" && (0...1).contains(e.weight) && !e.detail.isEmpty)
        }
    }
}
