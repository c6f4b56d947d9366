/// Which members a job issues to: a tree of conditions, compiled to SQL by the engine.
///
/// Written in a job file under `segment:`. A mapping of several conditions at the top means
/// `all` of them; the scalar `everyone` means every member.
public indirect enum Segment: Sendable, Equatable, Hashable {
    case everyone
    /// Every condition holds (non-empty).
    case all([Segment])
    /// At least one condition holds (non-empty).
    case any([Segment])
    case not(Segment)
    /// The member's tier is one of these (non-empty, no duplicates).
    case tier([MemberTier])
    /// The member has at least one of these tags.
    case tagsAny([String])
    /// The member has every one of these tags.
    case tagsAll([String])
    case totalSpendFen(BoundedRange)
    case orderCount(BoundedRange)
    case lastOrderWithinDays(Int)
    case dormantDays(Int)
    case registeredWithinDays(Int)
    case homeStore([String])
    case rfm(RFMFilter)
    /// Member ids from a file; the path is absolute, resolved against the job file's directory.
    case list(path: String)
    /// A query returning member ids, used as written.
    case sql(String)
}

/// A member's tier, from lowest to highest.
public enum MemberTier: String, Sendable, CaseIterable, Codable {
    case standard, silver, gold, platinum
}
