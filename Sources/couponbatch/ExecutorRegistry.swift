import CouponKit

/// The executors of the kinds this build supports.
enum ExecutorRegistry {
    static let standard: ExecutorResolver = { job in
        switch job.action {
        case .noop(let action): return NoopExecutor(action: action)
        case .issue(let action): return IssueExecutor(action: action)
        case .remind(let action): return RemindExecutor(action: action)
        case .expire(let action): return ExpireExecutor(action: action)
        case .bundle(let action): return BundleExecutor(action: action)
        case .prune(let action): return PruneExecutor(action: action)
        }
    }
}
