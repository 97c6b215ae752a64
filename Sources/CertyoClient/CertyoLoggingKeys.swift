/// The metadata keys of the client's log lines.
public enum CertyoLoggingKeys {
    /// The call: method, base URL and path (never the key, never the query string).
    public static let endpoint = "certyo.endpoint"
    /// The HTTP status of the response.
    public static let status = "certyo.status"
    /// How many records the call carried.
    public static let records = "certyo.records"
    /// How long the call took, in milliseconds.
    public static let durationMilliseconds = "certyo.duration_ms"
    /// The ``CertyoError/Code`` of a failed call.
    public static let errorCode = "certyo.error_code"
}
