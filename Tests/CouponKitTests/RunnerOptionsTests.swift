import CouponKit
import Foundation
import Testing

/// How many workers a runner uses when `--workers` is not given.
struct RunnerOptionsTests {
    @Test(arguments: [(1, 2), (2, 2), (3, 3), (8, 8), (16, 16), (64, 16)])
    func defaultWorkersFollowTheProcessorsWithinTwoToSixteen(_ processors: Int, _ workers: Int) {
        #expect(Runner.Options.defaultWorkers(processors: processors) == workers)
    }

    @Test func optionsWithoutWorkersTakeThisMachinesDefault() {
        let expected = Runner.Options.defaultWorkers(processors: ProcessInfo.processInfo.activeProcessorCount)
        #expect(Runner.Options().workers == expected)
        #expect(Runner.Options(workers: 7).workers == 7)
    }
}
