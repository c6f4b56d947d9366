import CouponKit
import Foundation

/// Times for people in one command: the format (`--tz`, else each job's zone) and the zones of the
/// jobs it knows. A run of a job whose file is gone is shown in the default zone.
struct TimeDisplay: Sendable {
    let format: LocalTimeFormat
    let zones: [String: TimeZone]

    init(format: LocalTimeFormat, deployment: Deployment?) {
        self.format = format
        self.zones = Dictionary(
            (deployment?.jobs ?? []).map { ($0.name, $0.timeZone) }, uniquingKeysWith: { first, _ in first })
    }

    func text(_ date: Date, job: String) -> String {
        format.format(date, jobZone: zones[job])
    }
}

extension GlobalOptions {
    /// The command's time display; job files that do not load only cost their zones.
    func timeDisplay(_ deployment: Deployment? = nil) -> TimeDisplay {
        TimeDisplay(format: timeFormat, deployment: deployment ?? (try? loadDeployment()))
    }
}
