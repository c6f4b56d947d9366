import CouponKit
import Dispatch
import Foundation

/// Turns SIGTERM and SIGINT into a stop request: stop claiming, finish the chunk, release
/// leases, exit 0. A second signal exits at once.
final class SignalTrap {
    private let sources: [any DispatchSourceSignal]

    init(stop: StopSignal) {
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if stop.isRequested { ExitStatus.interrupted.exitNow() }
                stop.request()
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func cancel() {
        sources.forEach { $0.cancel() }
    }
}
