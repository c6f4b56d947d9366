import Foundation

/// One job file under `jobs/`, validated: when it runs and what it does.
public struct JobDefinition: Sendable, Equatable {
    /// Unique across the deployment; `[a-z0-9][a-z0-9-]*`, at most 63 characters.
    public let name: String
    /// The file's `description:`.
    public let summary: String?
    public let action: JobAction
    /// When the job is due; nil exactly when `manualOnly` or a `trigger` is set.
    public let schedule: CronExpression?
    /// Member events that issue the job's coupons, instead of a schedule.
    public let trigger: EventTrigger?
    /// The job runs only when started by hand.
    public let manualOnly: Bool
    /// The zone `schedule` is read in.
    public let timeZone: TimeZone
    public let concurrency: ConcurrencyPolicy
    public let catchUp: CatchUpPolicy
    /// A slot not started within this long after its time is skipped.
    public let startingDeadlineSeconds: Int
    /// The most missed slots one catch-up runs.
    public let maxCatchUp: Int
    public let retry: JobRetry
    /// A run taking longer fails; nil is no limit.
    public let timeoutSeconds: Int?
    /// The file it was loaded from, as its path was given.
    public let sourceFile: String

    public init(
        name: String,
        summary: String? = nil,
        action: JobAction,
        schedule: CronExpression?,
        trigger: EventTrigger? = nil,
        manualOnly: Bool = false,
        timeZone: TimeZone = DefinitionDefaults.timeZone,
        concurrency: ConcurrencyPolicy = .forbid,
        catchUp: CatchUpPolicy = .latest,
        startingDeadlineSeconds: Int = DefinitionDefaults.startingDeadlineSeconds,
        maxCatchUp: Int = DefinitionDefaults.maxCatchUp,
        retry: JobRetry = .none,
        timeoutSeconds: Int? = nil,
        sourceFile: String = ""
    ) {
        self.name = name
        self.summary = summary
        self.action = action
        self.schedule = schedule
        self.trigger = trigger
        self.manualOnly = manualOnly
        self.timeZone = timeZone
        self.concurrency = concurrency
        self.catchUp = catchUp
        self.startingDeadlineSeconds = startingDeadlineSeconds
        self.maxCatchUp = maxCatchUp
        self.retry = retry
        self.timeoutSeconds = timeoutSeconds
        self.sourceFile = sourceFile
    }

    public var kind: JobKind { action.kind }
}
