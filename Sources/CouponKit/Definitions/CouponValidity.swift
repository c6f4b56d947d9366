/// How long an issued coupon stays valid. Either way it ends at the end of a day in the
/// template's time zone.
public enum CouponValidity: Sendable, Equatable, Hashable {
    /// Valid for this many days from the day it becomes valid (issue day plus any start delay).
    case days(Int)
    /// Valid from the start of `from` to the end of `until`, whenever issued.
    case window(from: CalendarDay, until: CalendarDay)
}
