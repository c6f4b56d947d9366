import Foundation

/// Writes a notification's JSON as sinks receive it (see `NotificationMessage`) straight from its
/// outbox row, without decoding the stored payload: the payload's text is copied as PostgreSQL
/// gave it, each coupon's `code` is spliced into its object, and the row's own fields are appended.
///
/// Why: decoding every payload and encoding the message again with Foundation's JSON coders was
/// about half of a deliverer's CPU. The row's strings (`job`, `kind`, `openid`) arrive already as
/// JSON text (`to_json(…)` in the claim), so nothing here escapes anything.
///
/// The stored payload is `{"coupons": [{…}, …]}` (`NotificationOutbox`): the coupon objects are
/// the objects one level inside the root's array, in the order of the row's `coupon_ids`, which
/// the same statement aggregated with the same ORDER BY. A payload whose coupon objects do not
/// match `coupon_ids` in number is refused rather than sent with codes on the wrong coupons.
struct NotificationWireText {
    let codec: CouponCodec

    struct Fields {
        var id: Int64
        var jobJSON: String
        var kindJSON: String
        var memberID: Int64
        /// nil: the member has no openid (the key is left out).
        var openidJSON: String?
        /// ISO 8601 in the job's zone (ASCII, nothing to escape).
        var slot: String
        var couponIDs: [Int64]
    }

    struct MalformedPayload: Error, CustomStringConvertible {
        let id: Int64
        let reason: String
        var description: String { "notification \(id): stored payload \(reason)" }
    }

    /// Appends the message for `fields` with `payload` (the stored payload's JSON text) to `out`.
    func append(payload: UnsafeRawBufferPointer, _ fields: Fields, to out: inout [UInt8]) throws {
        // The payload without its closing brace: the row's fields go after its "coupons".
        var end = payload.count
        while end > 0, Self.isSpace(payload[end - 1]) { end -= 1 }
        guard end > 0, payload[end - 1] == UInt8(ascii: "}") else {
            throw MalformedPayload(id: fields.id, reason: "is not a JSON object")
        }
        end -= 1
        out.reserveCapacity(out.count + payload.count + fields.couponIDs.count * 40 + 160)
        var coupon = 0
        var depth = 0
        var inString = false
        var escaped = false
        var lastSignificant: UInt8 = 0
        var copiedUpTo = 0
        for offset in 0..<end {
            let byte = payload[offset]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                lastSignificant = byte
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                // Closing a coupon object (root object, its array, the coupon): add the code.
                if byte == UInt8(ascii: "}"), depth == 3 {
                    guard coupon < fields.couponIDs.count else {
                        throw MalformedPayload(id: fields.id, reason: "lists more coupons than coupon_ids")
                    }
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: payload[copiedUpTo..<offset]))
                    copiedUpTo = offset
                    if lastSignificant != UInt8(ascii: "{") { out.append(UInt8(ascii: ",")) }
                    out.append(contentsOf: #""code":""#.utf8)
                    out.append(contentsOf: try codec.code(for: fields.couponIDs[coupon]).utf8)
                    out.append(UInt8(ascii: "\""))
                    coupon += 1
                }
                depth -= 1
            default:
                break
            }
            if !Self.isSpace(byte) { lastSignificant = byte }
        }
        guard coupon == fields.couponIDs.count, depth == 1, !inString else {
            throw MalformedPayload(id: fields.id, reason: "does not list the \(fields.couponIDs.count) coupons of coupon_ids")
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: payload[copiedUpTo..<end]))
        out.append(contentsOf: #","id":"#.utf8)
        out.append(contentsOf: String(fields.id).utf8)
        out.append(contentsOf: #","job":"#.utf8)
        out.append(contentsOf: fields.jobJSON.utf8)
        out.append(contentsOf: #","kind":"#.utf8)
        out.append(contentsOf: fields.kindJSON.utf8)
        out.append(contentsOf: #","member_id":"#.utf8)
        out.append(contentsOf: String(fields.memberID).utf8)
        if let openid = fields.openidJSON {
            out.append(contentsOf: #","openid":"#.utf8)
            out.append(contentsOf: openid.utf8)
        }
        out.append(contentsOf: #","slot":""#.utf8)
        out.append(contentsOf: fields.slot.utf8)
        out.append(contentsOf: #""}"#.utf8)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}
