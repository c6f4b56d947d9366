import CouponKit
import Foundation
import Postgres
import Testing

/// Which failures a runner rides out, decided by SQLSTATE (never by message text).
struct RetryStrategyTests {
    @Test(arguments: [
        ("08006", RetryStrategy.Verdict.reconnect), ("08001", .reconnect), ("57P01", .reconnect), ("57P02", .reconnect),
        ("57P03", .reconnect), ("40001", .retry), ("40P01", .retry), ("55P03", .retry), ("23505", .fail),
        ("57014", .fail), ("42501", .fail), ("53100", .fail),
    ])
    func serverErrorsAreClassifiedBySQLSTATE(_ sqlstate: String, _ verdict: RetryStrategy.Verdict) {
        let error = PostgresError(kind: .server, code: .init(sqlstate), message: "any text")
        #expect(RetryStrategy.verdict(for: error) == verdict)
    }

    @Test func aLostConnectionIsRetriedUntilTheOutageBudgetIsSpent() {
        let lost = PostgresError(kind: .connectionLost, message: "server closed the connection unexpectedly")
        let strategy = RetryStrategy.database.withOutage(seconds: 10)
        #expect(strategy.shouldRetry(lost, attempt: 500, outageSince: Date().addingTimeInterval(-9)))
        #expect(!strategy.shouldRetry(lost, attempt: 1, outageSince: Date().addingTimeInterval(-11)))
    }

    @Test func delaysGrowExponentiallyUpToTheCapWithJitter() {
        let strategy = RetryStrategy(attempts: 4, baseDelaySeconds: 0.2, maxDelaySeconds: 5, outageSeconds: 300)
        #expect(strategy.backoff(attempt: 1) == 0.2)
        #expect(strategy.backoff(attempt: 3) == 0.8)
        #expect(strategy.backoff(attempt: 30) == 5)
        for attempt in 1...40 {
            let delay = strategy.delay(attempt: attempt)
            #expect(delay >= strategy.backoff(attempt: attempt) / 2 && delay <= strategy.backoff(attempt: attempt))
        }
    }
}
