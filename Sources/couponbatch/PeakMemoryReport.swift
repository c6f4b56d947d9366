import Foundation

/// A child of `bench` writes its own peak resident memory (VmHWM, kB) to the file named by
/// `variable` when it exits. The kernel's rusage cannot say it: a child started by posix_spawn
/// (a vfork) counts the parent's peak too, since exec records the high-water mark of the memory it
/// replaces, and `make bench`'s own process grows past 450 MB by the time it times the members
/// import and the reports (they printed 468.8 MB each, the bench's peak, not theirs).
enum PeakMemoryReport {
    static let variable = "COUPONBATCH_PEAK_RSS_FILE"

    /// Called first thing in `main()`; does nothing unless the variable is set.
    static func installIfAsked() {
        guard getenv(variable) != nil else { return }
        atexit {
            guard let path = getenv(PeakMemoryReport.variable) else { return }
            let kilobytes = EventBench.peakRSSKilobytes(pid: getpid())
            try? "\(kilobytes)".write(toFile: String(cString: path), atomically: false, encoding: .utf8)
        }
    }
}
