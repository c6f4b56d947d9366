import CouponKit
import Foundation
import Logging
import Synchronization

/// A live progress line on a terminal (chunks, counts, rate, ETA); on a pipe, a log line every
/// few seconds instead. Nothing decorative when stderr is not a terminal.
final class ProgressDisplay: Sendable {
    private struct State { var lastPrint = Date.distantPast; var drawn = false }
    private let state = Mutex(State())
    let enabled: Bool
    let logger: Logger

    /// `enabled`: draw a live bar (stderr is a terminal); otherwise log a line every few seconds.
    init(enabled: Bool, logger: Logger) {
        self.enabled = enabled
        self.logger = logger
    }

    var handler: ProgressHandler {
        { [self] progress in self.show(progress) }
    }

    private func show(_ progress: RunProgress) {
        let interval = enabled ? 0.1 : 5
        let now = Date()
        let due = state.withLock { state -> Bool in
            guard now.timeIntervalSince(state.lastPrint) >= interval || progress.chunksDone == progress.chunksTotal else {
                return false
            }
            state.lastPrint = now
            state.drawn = enabled
            return true
        }
        guard due else { return }
        let fraction = progress.chunksTotal == 0 ? 1 : Double(progress.chunksDone) / Double(progress.chunksTotal)
        let main = progress.counts["coupons_issued"] ?? progress.counts["chunks"] ?? 0
        let label = progress.counts["coupons_issued"] != nil ? "coupons" : "chunks"
        let rate = progress.elapsedSeconds > 0 ? Double(main) / progress.elapsedSeconds : 0
        let eta = fraction > 0 ? progress.elapsedSeconds * (1 - fraction) / fraction : 0
        let scanned = progress.counts["members_scanned"].map { " members \($0)" } ?? ""
        let text =
            "\(progress.job) run \(progress.runID): chunk \(progress.chunksDone)/\(progress.chunksTotal)\(scanned) "
            + "\(label) \(main) (\(Int(rate))/s) ETA \(Int(eta.rounded()))s"
        if enabled {
            let width = 24
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            // The last update ends its line, so log lines that follow start on a fresh one.
            let done = progress.chunksDone == progress.chunksTotal
            if done { state.withLock { $0.drawn = false } }
            FileHandle.standardError.write(Data("\r\u{1B}[2K[\(bar)] \(Int(fraction * 100))% \(text)\(done ? "\n" : "")".utf8))
        } else {
            var metadata: Logger.Metadata = [
                "job.name": "\(progress.job)", "run.id": "\(progress.runID)",
                "chunks.done": "\(progress.chunksDone)", "chunks.total": "\(progress.chunksTotal)",
                "eta.seconds": "\(Int(eta.rounded()))",
            ]
            for (key, value) in progress.counts { metadata["run.\(key)"] = "\(value)" }
            logger.info("progress", metadata: metadata)
        }
    }

    /// Ends the live line so the summary starts on a fresh one.
    func finish() {
        let drawn = state.withLock { $0.drawn }
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
