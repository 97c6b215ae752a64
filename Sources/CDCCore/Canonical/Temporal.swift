/// Dates, times, timestamps and intervals in the canonical text forms of canonical-row.md.
enum Temporal {
    static let microsPerDay: Int64 = 86_400_000_000

    /// Proleptic Gregorian civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// Days since 1970-01-01 of a civil date.
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Appends `value` in decimal, zero-padded to `width` digits (a minus sign first when negative).
    @inline(__always) static func appendPadded(_ value: Int64, width: Int, to out: inout some ByteSink) {
        if value >= 0 {
            switch width {
            case 2 where value < 100:
                out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value / 10))
                out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value % 10))
                return
            case 4 where value < 10_000:
                appendPadded(value / 100, width: 2, to: &out)
                appendPadded(value % 100, width: 2, to: &out)
                return
            case 6 where value < 1_000_000:
                appendPadded(value / 10_000, width: 2, to: &out)
                appendPadded(value / 100 % 100, width: 2, to: &out)
                appendPadded(value % 100, width: 2, to: &out)
                return
            default:
                break
            }
        }
        if value < 0 { out.append(UInt8(ascii: "-")) }
        let digits = Array(String(value.magnitude).utf8)
        for _ in digits.count..<max(width, digits.count) { out.append(UInt8(ascii: "0")) }
        out.append(contentsOf: digits)
    }

    /// `YYYY-MM-DD`.
    static func appendDate(days: Int64, to out: inout some ByteSink) {
        let (year, month, day) = civil(days: days)
        guard (0..<10_000).contains(year) else {
            appendPadded(year, width: 4, to: &out)
            out.append(UInt8(ascii: "-"))
            appendPadded(month, width: 2, to: &out)
            out.append(UInt8(ascii: "-"))
            appendPadded(day, width: 2, to: &out)
            return
        }
        // The common case is written on the stack and appended once (one capacity check, not ten).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 10) { text in
            writeDate(year: year, month: month, day: day, into: text, at: 0)
            out.append(contentsOf: UnsafeBufferPointer(text))
        }
    }

    /// `HH:MM:SS.ffffff` from microseconds of the day (24:00:00 allowed, as PostgreSQL allows it).
    static func appendTime(micros: Int64, to out: inout some ByteSink) {
        guard (0...microsPerDay).contains(micros) else {
            let seconds = micros / 1_000_000
            appendPadded(seconds / 3600, width: 2, to: &out)
            out.append(UInt8(ascii: ":"))
            appendPadded(seconds / 60 % 60, width: 2, to: &out)
            out.append(UInt8(ascii: ":"))
            appendPadded(seconds % 60, width: 2, to: &out)
            out.append(UInt8(ascii: "."))
            appendPadded(micros % 1_000_000, width: 6, to: &out)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 15) { text in
            writeTime(micros: micros, into: text, at: 0)
            out.append(contentsOf: UnsafeBufferPointer(text))
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffff` from microseconds since the epoch (floor division for times before 1970).
    static func appendTimestamp(micros: Int64, to out: inout some ByteSink) {
        var days = micros / microsPerDay
        var ofDay = micros % microsPerDay
        if ofDay < 0 {
            ofDay += microsPerDay
            days -= 1
        }
        let (year, month, day) = civil(days: days)
        guard (0..<10_000).contains(year) else {
            appendDate(days: days, to: &out)
            out.append(UInt8(ascii: "T"))
            appendTime(micros: ofDay, to: &out)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 26) { text in
            writeDate(year: year, month: month, day: day, into: text, at: 0)
            text[10] = UInt8(ascii: "T")
            writeTime(micros: ofDay, into: text, at: 11)
            out.append(contentsOf: UnsafeBufferPointer(text))
        }
    }

    /// Writes `value` (0...99 for width 2) as `width` zero-padded digits at `offset`.
    @inline(__always)
    private static func writeDigits(
        _ value: Int64, width: Int, into text: UnsafeMutableBufferPointer<UInt8>, at offset: Int
    ) {
        var rest = value
        var position = offset + width - 1
        while position >= offset {
            text[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            position -= 1
        }
    }

    /// `YYYY-MM-DD` (10 bytes) for a year in 0...9999.
    @inline(__always)
    private static func writeDate(
        year: Int64, month: Int64, day: Int64, into text: UnsafeMutableBufferPointer<UInt8>, at offset: Int
    ) {
        writeDigits(year, width: 4, into: text, at: offset)
        text[offset + 4] = UInt8(ascii: "-")
        writeDigits(month, width: 2, into: text, at: offset + 5)
        text[offset + 7] = UInt8(ascii: "-")
        writeDigits(day, width: 2, into: text, at: offset + 8)
    }

    /// `HH:MM:SS.ffffff` (15 bytes) for 0...24h of microseconds.
    @inline(__always)
    private static func writeTime(micros: Int64, into text: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        let seconds = micros / 1_000_000
        writeDigits(seconds / 3600, width: 2, into: text, at: offset)
        text[offset + 2] = UInt8(ascii: ":")
        writeDigits(seconds / 60 % 60, width: 2, into: text, at: offset + 3)
        text[offset + 5] = UInt8(ascii: ":")
        writeDigits(seconds % 60, width: 2, into: text, at: offset + 6)
        text[offset + 8] = UInt8(ascii: ".")
        writeDigits(micros % 1_000_000, width: 6, into: text, at: offset + 9)
    }

    /// Parses an ISO 8601 timestamp with a zone (`2024-03-15T09:30:00.123456Z`, `...+01:00`, fraction optional)
    /// into microseconds since the epoch, UTC. Returns nil when it is not one (or has more than 6 fraction digits
    /// that are not zero).
    static func parseZonedTimestamp<C: Collection>(_ text: C) -> Int64? where C.Element == UInt8, C.Index == Int {
        var index = text.startIndex
        let end = text.endIndex
        func number(_ width: Int) -> Int64? {
            guard index + width <= end else { return nil }
            var value: Int64 = 0
            for offset in 0..<width {
                let digit = text[index + offset] &- 48
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
            }
            index += width
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard index < end, text[index] == byte else { return false }
            index += 1
            return true
        }
        var negativeYear = false
        if index < end, text[index] == UInt8(ascii: "-") {
            negativeYear = true
            index += 1
        }
        var yearDigits = 0
        while index + yearDigits < end, (48...57).contains(text[index + yearDigits]) { yearDigits += 1 }
        guard (4...7).contains(yearDigits), var year = number(yearDigits) else { return nil }
        if negativeYear { year = -year }
        guard expect(UInt8(ascii: "-")), let month = number(2), expect(UInt8(ascii: "-")), let day = number(2),
            index < end, text[index] == UInt8(ascii: "T") || text[index] == UInt8(ascii: " ")
        else { return nil }
        index += 1
        guard let hour = number(2), expect(UInt8(ascii: ":")), let minute = number(2), expect(UInt8(ascii: ":")),
            let second = number(2)
        else { return nil }
        var fraction: Int64 = 0
        if index < end, text[index] == UInt8(ascii: ".") {
            index += 1
            var count = 0
            while index < end, (48...57).contains(text[index]) {
                let digit = Int64(text[index] - 48)
                if count < 6 {
                    fraction = fraction * 10 + digit
                } else if digit != 0 {
                    return nil
                }
                count += 1
                index += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 6) { fraction *= 10 }
        }
        var offsetSeconds: Int64 = 0
        guard index < end else { return nil }
        if text[index] == UInt8(ascii: "Z") {
            index += 1
        } else if text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
            let sign: Int64 = text[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHours = number(2) else { return nil }
            var offsetMinutes: Int64 = 0
            if index < end {
                _ = expect(UInt8(ascii: ":"))
                guard let minutes = number(2) else { return nil }
                offsetMinutes = minutes
            }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard index == end, (1...12).contains(month), (1...31).contains(day), hour <= 24, minute < 60, second < 61
        else { return nil }
        let days = days(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return seconds * 1_000_000 + fraction
    }

    // MARK: Intervals

    /// An interval as PostgreSQL stores it: months, days, microseconds.
    struct Interval: Equatable {
        var months: Int64
        var days: Int64
        var micros: Int64
    }

    /// Debezium's `MicroDuration` (interval.handling.mode=numeric) counts a month as 30.4375 days; this splits the
    /// total back greedily into months, days and time. Best effort: the encoding is lossy (`1 mon` and
    /// `30 days 10:30:00` are the same number).
    static func interval(fromMicroDuration micros: Int64) -> Interval {
        let monthMicros: Int64 = 2_629_800_000_000
        let months = micros / monthMicros
        var rest = micros % monthMicros
        let days = rest / microsPerDay
        rest %= microsPerDay
        return Interval(months: months, days: days, micros: rest)
    }

    /// Parses an ISO 8601 duration as Debezium's `interval.handling.mode=string` writes it
    /// (`P1Y2M3DT4H5M6.78S`, components may be negative or zero). Returns nil when it is not one.
    static func parseISODuration<C: Collection>(_ text: C) -> Interval? where C.Element == UInt8 {
        // Read in place (a tape slice is contiguous): no copy of the text per value.
        if let parsed = text.withContiguousStorageIfAvailable({ parseISODuration(buffer: $0) }) { return parsed }
        return Array(text).withUnsafeBufferPointer { parseISODuration(buffer: $0) }
    }

    private static func parseISODuration(buffer: UnsafeBufferPointer<UInt8>) -> Interval? {
        var bytes = buffer
        var globalSign: Int64 = 1
        if bytes.first == UInt8(ascii: "-") {
            globalSign = -1
            bytes = UnsafeBufferPointer(rebasing: bytes.dropFirst())
        }
        guard bytes.first == UInt8(ascii: "P") else { return nil }
        var months: Int64 = 0
        var days: Int64 = 0
        var micros: Int64 = 0
        var inTime = false
        var index = 1
        var sawComponent = false
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "T") {
                guard !inTime else { return nil }
                inTime = true
                index += 1
                continue
            }
            var negative = false
            if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                negative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            var whole: Int64 = 0
            var digits = 0
            while index < bytes.count, (48...57).contains(bytes[index]) {
                let (times, overflow) = whole.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                let (sum, carry) = times.addingReportingOverflow(Int64(bytes[index] - 48))
                guard !carry else { return nil }
                whole = sum
                digits += 1
                index += 1
            }
            var fractionMicros: Int64 = 0
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",") {
                index += 1
                var scale: Int64 = 100_000
                while index < bytes.count, (48...57).contains(bytes[index]) {
                    fractionMicros += Int64(bytes[index] - 48) * scale
                    scale /= 10
                    digits += 1
                    index += 1
                }
            }
            guard digits > 0, index < bytes.count else { return nil }
            let unit = bytes[index]
            index += 1
            let sign: Int64 = negative ? -1 : 1
            sawComponent = true
            // Checked arithmetic: a hostile duration must give nil, never a trap.
            func add(_ total: inout Int64, _ value: Int64, _ factor: Int64, plus extra: Int64 = 0) -> Bool {
                let (scaled, o1) = value.multipliedReportingOverflow(by: factor)
                let (withExtra, o2) = scaled.addingReportingOverflow(extra)
                let (signed, o3) = withExtra.multipliedReportingOverflow(by: sign)
                let (sum, o4) = total.addingReportingOverflow(signed)
                guard !(o1 || o2 || o3 || o4) else { return false }
                total = sum
                return true
            }
            let ok: Bool
            switch (inTime, unit) {
            case (false, UInt8(ascii: "Y")): ok = add(&months, whole, 12)
            case (false, UInt8(ascii: "M")): ok = add(&months, whole, 1)
            case (false, UInt8(ascii: "W")): ok = add(&days, whole, 7)
            case (false, UInt8(ascii: "D")): ok = add(&days, whole, 1)
            case (true, UInt8(ascii: "H")): ok = add(&micros, whole, 3_600_000_000)
            case (true, UInt8(ascii: "M")): ok = add(&micros, whole, 60_000_000)
            case (true, UInt8(ascii: "S")): ok = add(&micros, whole, 1_000_000, plus: fractionMicros)
            default: return nil
            }
            guard ok else { return nil }
            if fractionMicros != 0 && !(inTime && unit == UInt8(ascii: "S")) { return nil }
        }
        guard sawComponent, months != .min, days != .min, micros != .min else { return nil }
        return Interval(months: globalSign * months, days: globalSign * days, micros: globalSign * micros)
    }

    /// Appends an interval as PostgreSQL prints it with `IntervalStyle=iso_8601` (`P1Y2M3DT4H5M6.5S`, `PT0S`).
    static func appendISO8601(_ interval: Interval, to out: inout some ByteSink) {
        let year = interval.months / 12
        let month = interval.months % 12
        let day = interval.days
        let hour = interval.micros / 3_600_000_000
        let minute = interval.micros / 60_000_000 % 60
        let second = interval.micros / 1_000_000 % 60
        let fraction = interval.micros % 1_000_000
        if year == 0 && month == 0 && day == 0 && hour == 0 && minute == 0 && second == 0 && fraction == 0 {
            out.append(contentsOf: "PT0S".utf8)
            return
        }
        // Digits are written from the stack (`IdempotencyKey.appendDecimal`), not through `String(value)`.
        func part(_ value: Int64, _ unit: UInt8) {
            guard value != 0 else { return }
            IdempotencyKey.appendDecimal(value, to: &out)
            out.append(unit)
        }
        out.append(UInt8(ascii: "P"))
        part(year, UInt8(ascii: "Y"))
        part(month, UInt8(ascii: "M"))
        part(day, UInt8(ascii: "D"))
        if hour != 0 || minute != 0 || second != 0 || fraction != 0 { out.append(UInt8(ascii: "T")) }
        part(hour, UInt8(ascii: "H"))
        part(minute, UInt8(ascii: "M"))
        if second != 0 || fraction != 0 {
            if second < 0 || fraction < 0 { out.append(UInt8(ascii: "-")) }
            IdempotencyKey.appendDecimal(Int64(second.magnitude), to: &out)
            if fraction != 0 {
                // Six digits, zero-padded, trailing zeros dropped (`.5`, `.000001`).
                var digits = fraction.magnitude
                var width = 6
                while digits % 10 == 0 {
                    digits /= 10
                    width -= 1
                }
                out.append(UInt8(ascii: "."))
                var divisor: UInt64 = 1
                for _ in 1..<width { divisor *= 10 }
                while divisor > 0 {
                    out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: digits / divisor % 10))
                    divisor /= 10
                }
            }
            out.append(UInt8(ascii: "S"))
        }
    }
}
