import ArgumentParser
import CouponKit
import Foundation
import Postgres
import Synchronization

extension Couponbatch {
    struct Scheduler: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run as a daemon: sleep until the next due slot, run it, repeat; SIGTERM stops cleanly.",
            discussion: """
                Reloads job files when they change, takes over runs whose runner died, and on SIGTERM or \
                SIGINT stops claiming, lets running chunks finish within --grace-seconds, releases its \
                leases and exits 0. Run several on several hosts for throughput and failover.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var runner: RunnerOptions

        @Option(help: "Seconds running chunks get to finish after SIGTERM.")
        var graceSeconds: Double = 30

        @Option(help: "Seconds between checks for lapsed leases and changed job files while nothing is due.")
        var pollSeconds: Double = 5

        @Option(help: "Seconds between looks for member events when no notification came (a lost one waits this long).")
        var eventPollSeconds: Double = 1

        @Option(help: "Member events one trigger batch (one transaction) takes at most.")
        var eventBatchSize: Int = TriggerBatch.defaultSize

        @Option(
            help: ArgumentHelp(
                "Serve /metrics, /healthz, /readyz and the read-only web console on this port (0: any free port).",
                valueName: "port"))
        var httpPort: UInt16?

        @Option(
            help: ArgumentHelp(
                "Address to bind the HTTP port to; beyond loopback COUPONBATCH_HTTP_TOKEN must be set.",
                valueName: "ipv4"))
        var httpHost: String = "127.0.0.1"

        @Option(help: ArgumentHelp("Drive the clock: start at this ISO 8601 instant (testing).", visibility: .hidden))
        var startAt: String?

        @Option(help: ArgumentHelp("Drive the clock: simulated seconds per real second (testing).", visibility: .hidden))
        var timeScale: Double = 1

        func validate() throws {
            try ISOInstant.validate(startAt, option: "--start-at")
            guard timeScale > 0 else { throw ValidationError("--time-scale must be positive") }
            guard eventPollSeconds > 0 else { throw ValidationError("--event-poll-seconds must be positive") }
            guard (1...10_000).contains(eventBatchSize) else { throw ValidationError("--event-batch-size must be between 1 and 10000") }
        }

        func run() throws {
            let logger = global.makeLogger()
            let initial = try global.loadDeployment()
            MetricsBackend.bootstrap()
            if let httpPort {
                let address = try httpServer(port: httpPort).start(logger: logger)
                // Written unbuffered: a supervisor or test reads the address while the daemon runs.
                FileHandle.standardOutput.write(Data("http: /metrics /healthz /readyz and the console at \(address)/\n".utf8))
            }
            let stop = StopSignal()
            let signals = SignalTrap(stop: stop)
            defer { signals.cancel() }
            let engine = runner.makeRunner(global: global, logger: logger, stop: stop)
            let watcher = DefinitionWatcher(directory: global.jobsDir)
            // The definitions both loops work from; the scheduling loop reloads them.
            let current = Mutex(initial)
            let loop = SchedulerLoop(
                runner: engine, clock: RunnerClock(origin: startAt.flatMap(ISOInstant.parse), scale: timeScale),
                reload: {
                    let fresh = try watcher.reloadIfChanged()
                    if let fresh { current.withLock { $0 = fresh } }
                    return fresh
                }, pollSeconds: pollSeconds,
                graceSeconds: graceSeconds, logger: logger)
            let url = global.resolvedDatabaseURL
            // The same connection hygiene and segment sandbox as the runs' own connections.
            let settings = engine.options.connectionSettings
            let events = TriggerLoop(
                connect: { try Connection.connect(url: url, settings: settings) }, deployment: { current.withLock { $0 } },
                owner: engine.options.identity.owner, pollSeconds: eventPollSeconds, batchSize: eventBatchSize, stop: stop,
                logger: logger, segmentSandbox: global.segmentSandbox)
            let eventsDone = DispatchSemaphore(value: 0)
            WorkerThread.start {
                events.run()
                eventsDone.signal()
            }
            let times = global.timeDisplay(initial)
            // Notifications go out beside the runs: retries, quiet hours ending, sinks coming back.
            let delivering = DispatchSemaphore(value: 0)
            let sinks = SinkSnapshot(initial.sinks)
            let global = global
            WorkerThread.start {
                NotificationDelivery.loop(
                    sinks: { sinks.refresh(from: global) }, connect: { try global.connect() }, stop: stop,
                    pollSeconds: pollSeconds, logger: logger)
                delivering.signal()
            }
            try loop.run(initial: initial) { report in
                RunOutput.printReports([report], times: times)
            }
            stop.request()
            stop.poke()
            delivering.wait()
            eventsDone.wait()
        }

        /// The HTTP side; refuses to serve beyond loopback without a token.
        func httpServer(port: UInt16) throws -> OpsServer {
            let token = ProcessInfo.processInfo.environment["COUPONBATCH_HTTP_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            if !OpsServer.isLoopback(httpHost) && token == nil {
                throw ConfigurationError(
                    "--http-host \(httpHost) is beyond loopback: set COUPONBATCH_HTTP_TOKEN so the console and "
                        + "/metrics require a bearer token")
            }
            let url = global.resolvedDatabaseURL
            let connect: @Sendable () throws -> Connection = { try Connection.connect(url: url) }
            return OpsServer(
                host: httpHost, port: port, token: token, connect: connect,
                console: ConsolePages(connect: connect, jobsDir: global.jobsDir, timeFormat: global.timeFormat))
        }
    }
}

/// The sinks the delivery loop uses: re-read from the jobs directory each pass; an invalid edit
/// keeps the previous sinks (as the scheduler keeps the previous jobs).
final class SinkSnapshot: Sendable {
    private let current: Mutex<[String: NotificationSink]>

    init(_ sinks: [String: NotificationSink]) { current = Mutex(sinks) }

    func refresh(from global: GlobalOptions) -> [String: NotificationSink] {
        if let fresh = try? global.loadDeployment().sinks { current.withLock { $0 = fresh } }
        return current.withLock { $0 }
    }
}
