import Foundation
import TestSupport
import Testing

/// When a crash test kills the runner.
enum KillPoint: Sendable {
    /// This long after the process starts (before, during or after it claims and plans).
    case afterSeconds(Double)
    /// Once the run has committed this many chunks in all (so always mid-run).
    case afterChunks(Int)
}

extension IssueFixture {
    /// Starts a runner again and again, SIGKILLing it at each of `points` in turn, until one
    /// start finishes with exit 0; returns how many kills hit a runner and the finishing result.
    ///
    /// A start that ends on its own before its kill point must exit 0 or 75 (it found the killed
    /// runner's lease still alive) and is started again. After each kill, once the killed
    /// runner's last statements have settled, `afterKill` checks the database.
    func killAndResume(
        at points: [KillPoint], start: () throws -> RunningCommand, afterKill: (_ context: String) throws -> Void
    ) throws -> (kills: Int, result: CommandResult) {
        var kills = 0
        var starts = 0
        var points = points[...]
        while true {
            starts += 1
            try #require(starts < 200, "the run never finished")
            let process = try start()
            var exited: CommandResult?
            switch points.first {
            case .afterSeconds(let seconds):
                exited = process.wait(seconds: seconds)
            case .afterChunks(let chunks):
                while process.process.isRunning, try int("SELECT count(*) FROM run_chunks") < chunks { usleep(2_000) }
                if !process.process.isRunning { exited = process.wait() }
            case nil:
                exited = process.wait()
            }
            if let exited {
                if exited.status == 0 { return (kills, exited) }
                // Started while the killed runner's lease was still alive: try again.
                #expect(exited.status == 75, "\(exited.stdout) \(exited.stderr)")
                usleep(250_000)
                continue
            }
            process.signal(SIGKILL)
            _ = process.wait()
            // A COMMIT the killed runner sent just before dying still lands: look once its
            // statements are done, so the ledger and the rows are read as one settled state.
            // Generous: on a loaded machine a killed runner's last statement can take many seconds,
            // and reading before it lands would compare counts and rows of two different states.
            let settled = try eventually(within: 90) {
                try int(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'"
                ) == 0
            }
            try #require(settled, "the killed runner's statements were still running 90 s after the kill")
            kills += 1
            points = points.dropFirst()
            try afterKill("after kill \(kills)")
        }
    }
}
