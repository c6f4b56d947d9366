import Foundation
import Logging
import Synchronization

/// Installs our log handlers once per process: text for people, JSON for machines. Both write
/// to stderr so that stdout stays the command's output.
enum LoggingBootstrap {
    private static let done = Mutex(false)

    static func bootstrap(format: LogFormat, level: Logger.Level) {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                switch format {
                case .text: TextLogHandler(label: label)
                case .json: JSONLogHandler(label: label)
                }
            handler.logLevel = level
            return handler
        }
    }
}

/// What both handlers share: level, handler metadata, and merging it with an event's.
protocol LineLogHandler: LogHandler {
    var metadata: Logger.Metadata { get set }
}

extension LineLogHandler {
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func merged(_ event: LogEvent) -> Logger.Metadata {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        return merged
    }
}

/// `2026-11-23T11:03:04Z info message key=value …`
struct TextLogHandler: LineLogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    func log(event: LogEvent) {
        let merged = merged(event)
        var line = "\(LogTime.now()) \(event.level) \(event.message)"
        for key in merged.keys.sorted() {
            line += " \(key)=\(merged[key].map { "\($0)" } ?? "")"
        }
        LogSink.write(line + "\n")
    }
}

/// One JSON object a line: time, level, message, label and the metadata as fields.
struct JSONLogHandler: LineLogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    func log(event: LogEvent) {
        let merged = merged(event)
        var object: [String: String] = [
            "time": LogTime.now(), "level": "\(event.level)", "message": "\(event.message)", "label": label,
        ]
        for (key, value) in merged { object[key] = "\(value)" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(object) else { return }
        LogSink.write(String(decoding: data, as: UTF8.self) + "\n")
    }
}

enum LogTime {
    static func now() -> String {
        Date().formatted(.iso8601)
    }
}

enum LogSink {
    private static let lock = Mutex(())
    static func write(_ line: String) {
        lock.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }
}
