import ServiceLifecycle

extension App {
    /// The same app with more services in its group (`serve` adds the REST API, with or without the worker).
    public func adding(_ more: [ServiceGroupConfiguration.ServiceConfiguration]) -> App {
        App(services: services + more, httpClient: httpClient, logger: logger)
    }
}
