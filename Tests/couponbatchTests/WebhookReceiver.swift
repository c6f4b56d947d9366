import Foundation
import TestSupport

/// The test webhook receiver (Tests/Receiver/webhook_receiver.py) as a helper process on
/// 127.0.0.1: it verifies every signature with the documented scheme and answers as scripted.
final class WebhookReceiver: @unchecked Sendable {
    // Safe: `process` is only touched through Process's own thread-safe methods; the rest is immutable.
    let process: Process
    let port: Int
    let logPath: String

    /// One request as the receiver saw it.
    struct Request: Decodable {
        let t: Double
        let answer: String
        let signature_ok: Bool
        let ids: [Int64]?
    }

    init(script: [String] = [], then: String = "200", secret: String = IssueFixture.webhookSecret) throws {
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-receiver-\(UUID().uuidString).log").path
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Couponbatch.projectRoot + "/Tests/Receiver/webhook_receiver.py", "--secret-env", "RECEIVER_SECRET",
            "--script", script.joined(separator: ","), "--then", then, "--log", logPath,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["RECEIVER_SECRET"] = secret
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // "listening PORT"
        var text = ""
        while !text.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let port = Int(text.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") else {
            process.terminate()
            throw TestSetupError("the webhook receiver did not start (is python3 installed?): \(text)")
        }
        self.port = port
    }

    deinit {
        // SIGKILL: the test runner may start children with SIGTERM ignored.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logPath)
    }

    var url: String { "http://127.0.0.1:\(port)/coupon-events" }

    var requests: [Request] {
        guard let data = FileManager.default.contents(atPath: logPath) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONDecoder().decode(Request.self, from: Data($0.utf8))
        }
    }

    /// Ids the receiver answered 2xx for, with how often.
    var acknowledged: [Int64: Int] {
        var counts: [Int64: Int] = [:]
        for request in requests where request.signature_ok && request.answer.hasPrefix("2") {
            for id in request.ids ?? [] { counts[id, default: 0] += 1 }
        }
        return counts
    }
}
