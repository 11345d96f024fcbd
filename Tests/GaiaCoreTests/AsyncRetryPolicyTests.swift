import GaiaCore
import Testing

/// An asynchronous invocation's retries without Python: which failures are run again, after what
/// wait, and when it fails for good.
struct AsyncRetryPolicyTests {
    @Test func anInstanceFailureIsRetriedWithADoublingBackoffUntilTheRunsAreSpent() {
        let policy = AsyncRetryPolicy(maxAttempts: 4, backoff: .seconds(1))
        #expect(policy.afterFailure(.instanceFailed, attempts: 1) == .retry(after: .seconds(1)))
        #expect(policy.afterFailure(.noRoom, attempts: 2) == .retry(after: .seconds(2)))
        #expect(policy.afterFailure(.instanceFailed, attempts: 3) == .retry(after: .seconds(4)))
        #expect(policy.afterFailure(.instanceFailed, attempts: 4) == .fail, "the fourth run was the last")
    }

    @Test func theFunctionsOwnRefusalIsNotRunAgain() {
        let policy = AsyncRetryPolicy(maxAttempts: 10, backoff: .seconds(1))
        #expect(policy.afterFailure(.final, attempts: 1) == .fail)
    }

    @Test func nonsenseSettingsStillRunOnceAndNeverWaitBackwards() {
        let once = AsyncRetryPolicy(maxAttempts: 0, backoff: .seconds(-5))
        #expect(once.maxAttempts == 1 && once.afterFailure(.instanceFailed, attempts: 1) == .fail)
        let long = AsyncRetryPolicy(maxAttempts: .max, backoff: .milliseconds(1))
        #expect(long.afterFailure(.instanceFailed, attempts: 1_000) == .retry(after: .milliseconds(1 << 20)), "the doubling stops at 2^20")
    }

    @Test func statesSayWhenTheyAreFinal() {
        #expect(AsyncInvocationState.allCases.filter(\.isFinished) == [.succeeded, .failed])
        #expect(AsyncInvocationState(rawValue: "queued") == .queued)
    }
}
