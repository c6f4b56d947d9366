import Foundation

/// Runs the built `couponbatch` binary the way a user does, for CLI tests.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

public enum Couponbatch {
    /// The binary under test: COUPONBATCH_BIN (set by `make test`), else .build/debug/couponbatch.
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["COUPONBATCH_BIN"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/couponbatch").path
    }

    /// The project's root folder (for sql/ and jobs/).
    public static var projectRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    /// Starts the binary and waits for it.
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], currentDirectory: String? = nil
    ) throws -> CommandResult {
        let process = try start(arguments, environment: environment, currentDirectory: currentDirectory)
        return process.wait()
    }

    public static func start(
        _ arguments: [String], environment: [String: String] = [:], currentDirectory: String? = nil
    ) throws -> RunningCommand {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "DATABASE_URL")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory ?? projectRoot)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let out = directory.appendingPathComponent("stdout")
        let err = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return RunningCommand(process: process, stdoutPath: out.path, stderrPath: err.path)
    }
}

/// A started `couponbatch` process. Output goes to files so a chatty process never blocks on a pipe.
public final class RunningCommand: @unchecked Sendable {
    // Safe: `process` is only touched through Process's own thread-safe methods.
    public let process: Process
    let stdoutPath: String
    let stderrPath: String

    init(process: Process, stdoutPath: String, stderrPath: String) {
        self.process = process
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    public var pid: Int32 { process.processIdentifier }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    public var stdoutSoFar: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var stderrSoFar: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    public func wait() -> CommandResult {
        process.waitUntilExit()
        let result = CommandResult(status: process.terminationStatus, stdout: stdoutSoFar, stderr: stderrSoFar)
        // The output files live in a folder of their own; gone once read.
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: stdoutPath).deletingLastPathComponent().path)
        return result
    }

    /// Waits at most `seconds`; nil if still running.
    public func wait(seconds: Double) -> CommandResult? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : wait()
    }
}
