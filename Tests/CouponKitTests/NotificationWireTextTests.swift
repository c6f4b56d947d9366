import Foundation
import Testing

@testable import CouponKit

/// The deliverer writes messages from the stored payload's text without decoding it; a receiver
/// must still get exactly the notification, whatever the strings inside hold.
@Suite("Notification wire text")
struct NotificationWireTextTests {
    private let codec: CouponCodec

    init() throws {
        let secret = try CodeSecret("wire text test secret, 32 bytes!!".utf8)
        codec = CouponCodec(keyring: try CodeKeyring(current: 1, secrets: [1: secret]))
    }

    private func wire(_ payload: String, ids: [Int64], openid: String? = #""o-1""#) throws -> [UInt8] {
        var out: [UInt8] = []
        let fields = NotificationWireText.Fields(
            id: 77, jobJSON: #""expiry-reminder""#, kindJSON: #""remind""#, memberID: 42, openidJSON: openid,
            slot: "2026-11-28T10:00:00+08:00", couponIDs: ids)
        try Array(payload.utf8).withUnsafeBytes { try NotificationWireText(codec: codec).append(payload: $0, fields, to: &out) }
        return out
    }

    @Test("Titles with braces, quotes, backslashes and CJK keep their text, and each coupon gets its own code")
    func trickyTitlesAndCodes() throws {
        // As PostgreSQL prints jsonb: keys by length, ", " and ": " between them.
        let payload = #"""
            {"coupons": [{"title": "满100减20 {\"x\": [1]} \\}", "template": "cash", "coupon_id": 5, "expires_at": "2026-12-01T00:00:00+08:00", "face_value_fen": 2000}, {"title": "}]", "template": "gift", "coupon_id": 9, "expires_at": "2026-12-02T00:00:00+08:00", "face_value_fen": 0}]}
            """#
        let message = try JSONDecoder().decode(NotificationMessage.self, from: Data(try wire(payload, ids: [5, 9])))
        #expect(message.id == 77 && message.kind == "remind" && message.job == "expiry-reminder" && message.memberID == 42)
        #expect(message.openid == "o-1" && message.slot == "2026-11-28T10:00:00+08:00")
        #expect(message.coupons.map(\.title) == [#"满100减20 {"x": [1]} \}"#, "}]"])
        #expect(message.coupons.map(\.couponID) == [5, 9])
        #expect(message.coupons.map(\.code) == [try codec.code(for: 5), try codec.code(for: 9)])
        #expect(message.coupons.map(\.faceValueFen) == [2000, 0])
    }

    @Test("A member without an openid gets no openid key")
    func noOpenid() throws {
        let payload = #"{"coupons": [{"coupon_id": 3, "title": "t", "template": "t", "expires_at": "x", "face_value_fen": 1}]}"#
        let text = String(decoding: try wire(payload, ids: [3], openid: nil), as: UTF8.self)
        #expect(!text.contains("openid"))
        #expect(try JSONDecoder().decode(NotificationMessage.self, from: Data(text.utf8)).coupons.first?.code == codec.code(for: 3))
    }

    @Test("A payload that does not list coupon_ids' coupons is refused, not sent with codes on the wrong coupons")
    func mismatchIsRefused() throws {
        let payload = #"{"coupons": [{"coupon_id": 3, "title": "t", "template": "t", "expires_at": "x", "face_value_fen": 1}]}"#
        #expect(throws: NotificationWireText.MalformedPayload.self) { try wire(payload, ids: [3, 4]) }
        #expect(throws: NotificationWireText.MalformedPayload.self) { try wire(payload, ids: []) }
        #expect(throws: NotificationWireText.MalformedPayload.self) { try wire("[]", ids: []) }
    }
}
