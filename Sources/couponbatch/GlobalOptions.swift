import ArgumentParser
import CouponKit
import Foundation
import Logging
import Postgres

/// Options every command takes (DESIGN.md's CLI contract).
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .customLong("jobs-dir"),
        help: ArgumentHelp(
            "Directory of job, template and plan files. Default: COUPONBATCH_JOBS_DIR, else ./jobs.", valueName: "dir"))
    var jobsDirOption: String?

    @Option(
        name: .customLong("tz"),
        help: ArgumentHelp("Show times in this IANA zone instead of each job's own zone.", valueName: "zone"))
    var displayZone: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "PostgreSQL URL (postgresql://user@host:port/db). Default: DATABASE_URL, else libpq's PG* variables.",
            valueName: "url"))
    var databaseURL: String?

    @Option(name: .long, help: "Log format: text (for people) or json (one object a line).")
    var logFormat: LogFormat = .text

    @Flag(name: .shortAndLong, help: "Log debug detail.")
    var verbose = false

    /// --jobs-dir, else COUPONBATCH_JOBS_DIR, else ./jobs.
    var jobsDir: String {
        if let jobsDirOption, !jobsDirOption.isEmpty { return jobsDirOption }
        if let env = ProcessInfo.processInfo.environment["COUPONBATCH_JOBS_DIR"], !env.isEmpty { return env }
        return "jobs"
    }

    func validate() throws {
        if let displayZone, TimeZone(identifier: displayZone) == nil {
            throw ValidationError("--tz: unknown time zone \"\(displayZone)\" (an IANA name like Asia/Shanghai)")
        }
    }

    /// How this command shows times: --tz if given, else each job's zone.
    var timeFormat: LocalTimeFormat {
        LocalTimeFormat(override: displayZone.flatMap(TimeZone.init(identifier:)))
    }

    /// The URL to connect with; nil lets libpq read PG* variables.
    var resolvedDatabaseURL: String? {
        if let databaseURL, !databaseURL.isEmpty { return databaseURL }
        if let env = ProcessInfo.processInfo.environment["DATABASE_URL"], !env.isEmpty { return env }
        return nil
    }

    func connect() throws -> Connection {
        try Connection.connect(url: resolvedDatabaseURL)
    }

    /// Where `sql:` segments run: the same database as the read-only role, or the URL in
    /// COUPONBATCH_SEGMENT_DATABASE_URL when that role has a password of its own.
    var segmentSandbox: SegmentSandbox {
        let readerURL = ProcessInfo.processInfo.environment["COUPONBATCH_SEGMENT_DATABASE_URL"].flatMap {
            $0.isEmpty ? nil : $0
        }
        return SegmentSandbox.forDatabase(url: resolvedDatabaseURL, readerURL: readerURL)
    }

    /// Sets up logging once and returns the command's logger.
    func makeLogger(label: String = "couponbatch") -> Logger {
        LoggingBootstrap.bootstrap(format: logFormat, level: verbose ? .debug : .info)
        return Logger(label: label)
    }
}

enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json
}
