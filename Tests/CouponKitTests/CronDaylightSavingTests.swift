import Foundation
import Testing

@testable import CouponKit

/// DST behaviour. Transition instants (from `zdump -v`):
/// * America/New_York: 2026-03-08T07:00Z (02:00 EST -> 03:00 EDT), 2026-11-01T06:00Z (02:00 EDT -> 01:00 EST)
/// * Europe/London: 2026-03-29T01:00Z (01:00 GMT -> 02:00 BST), 2026-10-25T01:00Z (02:00 BST -> 01:00 GMT)
/// * Australia/Lord_Howe: 2026-04-04T15:00Z (02:00 +11 -> 01:30 +10:30),
///   2026-10-03T15:30Z (02:00 +10:30 -> 02:30 +11)
/// * America/St_Johns: 2026-03-08T05:30Z (02:00 -3:30 -> 03:00 -2:30), 2026-11-01T04:30Z (02:00 -2:30 -> 01:00 -3:30)
/// * Pacific/Chatham: 2026-04-04T14:00Z (03:45 +13:45 -> 02:45 +12:45),
///   2026-09-26T14:00Z (02:45 +12:45 -> 03:45 +13:45)
/// * America/Sao_Paulo: 2018-02-18T02:00Z (00:00 -2 -> 23:00 -3), 2018-11-04T03:00Z (00:00 -3 -> 01:00 -2)
@Suite struct CronDaylightSavingTests {
    typealias Row = CronKnownAnswer

    static let springForward: [Row] = [
        Row(
            "30 2 * * *", "America/New_York", after: "2026-03-06T12:00:00Z",
            ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"],
            "02:30 does not exist on Mar 8, so it fires when the gap ends (03:00 EDT)"),
        Row(
            "0,30 2 * * *", "America/New_York", after: "2026-03-07T12:00:00Z",
            ["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T06:30:00Z"],
            "02:00 and 02:30 both fall in the gap and collapse into one firing"),
        Row(
            "0 2,3 * * *", "America/New_York", after: "2026-03-07T12:00:00Z",
            ["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T07:00:00Z"],
            "02:00 (gap) and 03:00 EDT are the same instant on Mar 8: fired once"),
        Row(
            "* 2 * * *", "America/New_York", after: "2026-03-08T06:00:00Z",
            ["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z", "2026-03-09T06:01:00Z"],
            "all sixty skipped minutes collapse into one firing"),
        Row(
            "59 1 * * *", "America/New_York", after: "2026-03-07T12:00:00Z",
            ["2026-03-08T06:59:00Z", "2026-03-09T05:59:00Z"], "01:59 EST exists just before the gap"),
        Row(
            "30 * * * *", "America/New_York", after: "2026-03-08T05:00:00Z",
            ["2026-03-08T05:30:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z", "2026-03-08T08:30:00Z"],
            "real-time job: 00:30 EST, 01:30 EST, (02:30 skipped), 03:30 EDT, 04:30 EDT"),
        Row(
            "30 1 * * *", "Europe/London", after: "2026-03-28T12:00:00Z",
            ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"], "01:30 does not exist on Mar 29: fires at 02:00 BST"),
        Row(
            "0 1 * * *", "Europe/London", after: "2026-03-28T12:00:00Z",
            ["2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"], "01:00 GMT is skipped: fires at 02:00 BST = 01:00Z"),
        Row(
            "15 2 * * *", "Australia/Lord_Howe", after: "2026-10-03T00:00:00Z",
            ["2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"], "30-minute gap 02:00-02:30: 02:15 fires at 02:30 +11"),
        Row(
            "*/10 2 * * *", "Australia/Lord_Howe", after: "2026-10-03T00:00:00Z",
            ["2026-10-03T15:30:00Z", "2026-10-03T15:40:00Z", "2026-10-03T15:50:00Z", "2026-10-04T15:00:00Z"],
            "02:00, 02:10, 02:20 (gap) and 02:30 collapse into one instant"),
        Row(
            "0,30 * * * *", "Australia/Lord_Howe", after: "2026-10-03T14:00:00Z",
            ["2026-10-03T14:30:00Z", "2026-10-03T15:00:00Z", "2026-10-03T15:30:00Z", "2026-10-03T16:00:00Z"],
            "real-time job: 01:00, 01:30 (+10:30), 02:00 skipped, 02:30, 03:00 (+11)"),
        Row(
            "30 2 * * *", "America/St_Johns", after: "2026-03-07T12:00:00Z",
            ["2026-03-08T05:30:00Z", "2026-03-09T05:00:00Z"], "negative half-hour offset: gap fires at 03:00 NDT"),
        Row(
            "0 3 * * *", "Pacific/Chatham", after: "2026-09-26T00:00:00Z",
            ["2026-09-26T14:00:00Z", "2026-09-27T13:15:00Z"], "+12:45 zone: 03:00 is in the gap 02:45-03:45"),
        Row(
            "0 * * * *", "Pacific/Chatham", after: "2026-09-26T12:00:00Z",
            ["2026-09-26T12:15:00Z", "2026-09-26T13:15:00Z", "2026-09-26T14:15:00Z", "2026-09-26T15:15:00Z"],
            "real-time job: 01:00, 02:00 (+12:45), 03:00 skipped, 04:00, 05:00 (+13:45)"),
        Row(
            "0 0 * * *", "America/Sao_Paulo", after: "2018-11-03T12:00:00Z",
            ["2018-11-04T03:00:00Z", "2018-11-05T02:00:00Z"], "midnight does not exist on Nov 4 2018: fires at 01:00"),
        Row(
            "0 0 4 11 *", "America/Sao_Paulo", after: "2018-11-01T00:00:00Z",
            ["2018-11-04T03:00:00Z", "2019-11-04T03:00:00Z"],
            "the whole day still fires once even when it starts in a gap"),
    ]

    static let fallBack: [Row] = [
        Row(
            "30 1 * * *", "America/New_York", after: "2026-10-31T12:00:00Z",
            ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"], "01:30 happens twice on Nov 1: only 01:30 EDT fires"),
        Row(
            "30 1 * * *", "America/New_York", after: "2026-11-01T05:30:00Z",
            ["2026-11-02T06:30:00Z"], "after the first 01:30 the repeated 01:30 EST does not fire"),
        Row(
            "30 1 * * *", "America/New_York", after: "2026-11-01T06:15:00Z",
            ["2026-11-02T06:30:00Z"], "starting inside the repeated hour (01:15 EST) skips 01:30 EST"),
        Row(
            "*/20 1 * * *", "America/New_York", after: "2026-10-31T12:00:00Z",
            ["2026-11-01T05:00:00Z", "2026-11-01T05:20:00Z", "2026-11-01T05:40:00Z", "2026-11-02T06:00:00Z"],
            "01:00, 01:20, 01:40 fire in EDT only"),
        Row(
            "0 2 * * *", "America/New_York", after: "2026-10-31T12:00:00Z",
            ["2026-11-01T07:00:00Z", "2026-11-02T07:00:00Z"], "02:00 is first reached at 02:00 EST"),
        Row(
            "0 1 * * *", "America/New_York", after: "2026-10-31T12:00:00Z",
            ["2026-11-01T05:00:00Z", "2026-11-02T06:00:00Z"], "01:00 EDT, not 01:00 EST"),
        Row(
            "30 * * * *", "America/New_York", after: "2026-11-01T04:00:00Z",
            ["2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z"],
            "real-time job: 00:30 EDT, 01:30 EDT, 01:30 EST, 02:30 EST"),
        Row(
            "0 * * * *", "America/New_York", after: "2026-11-01T04:30:00Z",
            ["2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"],
            "hourly job fires at 01:00 EDT and again at 01:00 EST"),
        Row(
            "30 1 * * *", "Europe/London", after: "2026-10-24T12:00:00Z",
            ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"], "01:30 BST only, then 01:30 GMT the next day"),
        Row(
            "15 * * * *", "Europe/London", after: "2026-10-24T23:00:00Z",
            ["2026-10-24T23:15:00Z", "2026-10-25T00:15:00Z", "2026-10-25T01:15:00Z", "2026-10-25T02:15:00Z"],
            "real-time job: 00:15 BST, 01:15 BST, 01:15 GMT, 02:15 GMT"),
        Row(
            "45 1 * * *", "Australia/Lord_Howe", after: "2026-04-04T00:00:00Z",
            ["2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"], "30-minute overlap 01:30-02:00: 01:45 fires at +11 only"),
        Row(
            "45 * * * *", "Australia/Lord_Howe", after: "2026-04-04T13:00:00Z",
            ["2026-04-04T13:45:00Z", "2026-04-04T14:45:00Z", "2026-04-04T15:15:00Z", "2026-04-04T16:15:00Z"],
            "real-time job: 00:45, 01:45 (+11), 01:45 again (+10:30) half an hour later, 02:45"),
        Row(
            "30 1 * * *", "America/St_Johns", after: "2026-10-31T12:00:00Z",
            ["2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"], "negative half-hour offset: 01:30 NDT only"),
        Row(
            "0 3 * * *", "Pacific/Chatham", after: "2026-04-04T00:00:00Z",
            ["2026-04-04T13:15:00Z", "2026-04-05T14:15:00Z"], "+13:45 zone: 03:00 repeats, fires at +13:45 only"),
        Row(
            "30 23 * * *", "America/Sao_Paulo", after: "2018-02-17T12:00:00Z",
            ["2018-02-18T01:30:00Z", "2018-02-19T02:30:00Z"], "repeated hour before midnight: 23:30 -02 only"),
        Row(
            "30 * * * *", "America/Sao_Paulo", after: "2018-02-18T00:00:00Z",
            ["2018-02-18T00:30:00Z", "2018-02-18T01:30:00Z", "2018-02-18T02:30:00Z", "2018-02-18T03:30:00Z"],
            "real-time job: 22:30, 23:30 (-02), 23:30 (-03), 00:30"),
    ]

    @Test(arguments: springForward)
    func skippedLocalTimesFireAtGapEndForWallClockJobsAndNeverForRealTimeJobs(_ row: Row) throws {
        try row.check()
    }

    @Test(arguments: fallBack)
    func repeatedHourFiresOnceForWallClockJobsAndTwiceForRealTimeJobs(_ row: Row) throws {
        try row.check()
    }

    @Test func repeatedHourFiresOnceForWallClockJobs() throws {
        let zone = CronTestSupport.zone("America/New_York")
        let cron = try CronExpression("30 1 * * *")
        #expect(cron.followsWallClock)
        let day = cron.firings(
            after: CronTestSupport.instant("2026-11-01T04:00:00Z"), through: CronTestSupport.instant("2026-11-01T12:00:00Z"),
            in: zone, limit: 10)
        #expect(day.map(CronTestSupport.iso) == ["2026-11-01T05:30:00Z"])
    }

    @Test func repeatedHourFiresTwiceForRealTimeJobs() throws {
        let zone = CronTestSupport.zone("America/New_York")
        let cron = try CronExpression("30 * * * *")
        #expect(!cron.followsWallClock)
        let window = cron.firings(
            after: CronTestSupport.instant("2026-11-01T05:00:00Z"), through: CronTestSupport.instant("2026-11-01T07:00:00Z"),
            in: zone, limit: 10)
        #expect(window.map(CronTestSupport.iso) == ["2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"])
    }

    @Test func skippedHourNeverFiresForRealTimeJobs() throws {
        let zone = CronTestSupport.zone("America/New_York")
        let cron = try CronExpression("*/30 * * * *")
        let window = cron.firings(
            after: CronTestSupport.instant("2026-03-08T06:00:00Z"), through: CronTestSupport.instant("2026-03-08T08:00:00Z"),
            in: zone, limit: 10)
        // 01:30 EST, 03:00 EDT, 03:30 EDT, 04:00 EDT: no 02:00 or 02:30.
        #expect(
            window.map(CronTestSupport.iso)
                == ["2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z", "2026-03-08T08:00:00Z"])
    }

    @Test func gapFiringExactlyAtStartIsNotRepeated() throws {
        let zone = CronTestSupport.zone("America/New_York")
        let cron = try CronExpression("0,30 2 * * *")
        let next = cron.next(after: CronTestSupport.instant("2026-03-08T07:00:00Z"), in: zone)
        #expect(next.map(CronTestSupport.iso) == "2026-03-09T06:00:00Z")
    }

    @Test(arguments: ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns"])
    func resultsAreStrictlyIncreasingThroughAYearOfTransitions(_ zoneID: String) throws {
        let zone = CronTestSupport.zone(zoneID)
        for text in ["*/10 * * * *", "*/10 0-3 * * *", "0,15,30,45 1,2 * * *", "* 2 * * SUN"] {
            let cron = try CronExpression(text)
            let all = cron.firings(
                after: CronTestSupport.instant("2026-01-01T00:00:00Z"), through: CronTestSupport.instant("2027-01-01T00:00:00Z"),
                in: zone, limit: 1_000_000)
            #expect(!all.isEmpty)
            #expect(zip(all, all.dropFirst()).allSatisfy { $0 < $1 }, "\(text) in \(zoneID)")
        }
    }

    @Test func dailyWallClockJobFiresExactlyOncePerLocalDayAcrossAYear() throws {
        for zoneID in ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Shanghai"] {
            let zone = CronTestSupport.zone(zoneID)
            for text in ["30 2 * * *", "0 1 * * *", "45 1 * * *"] {
                let all = try CronExpression(text).firings(
                    after: CronTestSupport.instant("2025-12-31T00:00:00Z"),
                    through: CronTestSupport.instant("2026-12-31T00:00:00Z"), in: zone, limit: 1000)
                // 365 days in each window give 365 local days (give or take the window edges).
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = zone
                let days = Set(all.map { calendar.dateComponents([.year, .month, .day], from: $0) })
                #expect(days.count == all.count, "\(text) in \(zoneID) fired twice on one local day")
                #expect((364...366).contains(all.count), "\(text) in \(zoneID): \(all.count) firings")
            }
        }
    }
}
