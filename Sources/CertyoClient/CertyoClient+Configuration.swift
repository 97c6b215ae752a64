extension CertyoClient {
    /// Where Certyo is, who we are, and how long to wait.
    public struct Configuration: Sendable {
        /// Certyo's base URL, `http` or `https`, optionally with a path prefix; no credentials, query or fragment.
        /// Default: `https://www.certyos.com` (`CERTYO_BASE_URL`).
        public var baseURL: String
        /// The API key sent as `X-API-Key` (`CERTYO_API_KEY` or `CERTYO_API_KEY_FILE`). No default.
        public var apiKey: CertyoAPIKey
        /// The tenant every call is made for (`CERTYO_TENANT_ID`). No default.
        public var tenantId: String
        /// How long to wait for a TCP (and TLS) connection. Default: `10 s`.
        public var connectTimeout: Duration
        /// How long one call may take, from sending until the whole response is read (connecting included).
        /// Default: `30 s`.
        public var requestTimeout: Duration
        /// The most records ``CertyoClient/ingestBulk(_:)`` sends in one call; more is refused before sending.
        /// Default: `1000` (the vendor's limit).
        public var maximumBulkRecords: Int
        /// The largest response body the client reads. Default: `32 MiB`.
        public var maximumResponseBytes: Int
        /// How long an idle keep-alive connection stays open. Default: `60 s`.
        public var idleConnectionTimeout: Duration

        /// The default base URL, Certyo's production API.
        public static let defaultBaseURL = "https://www.certyos.com"

        /// A configuration with the production defaults above.
        ///
        /// - Parameters:
        ///   - baseURL: Certyo's base URL. Default: ``defaultBaseURL``.
        ///   - apiKey: The API key.
        ///   - tenantId: The tenant.
        public init(baseURL: String = Configuration.defaultBaseURL, apiKey: CertyoAPIKey, tenantId: String) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.tenantId = tenantId
            self.connectTimeout = .seconds(10)
            self.requestTimeout = .seconds(30)
            self.maximumBulkRecords = CertyoAPI.maximumBulkRecords
            self.maximumResponseBytes = 32 * 1024 * 1024
            self.idleConnectionTimeout = .seconds(60)
        }
    }
}
