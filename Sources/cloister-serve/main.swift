import CloisterCommands
import CloisterServe
import Logging

// `cloister serve` execs this executable (see ServeCommand): the same command line, with the
// HTTP server linked in. Capabilities are dropped before any thread starts, as in `cloister`.
ServeCommand.server = { configuration in
    var logger = Logger(label: "cloister.serve")
    logger.logLevel = .info
    try await CloisterServer.run(configuration, logger: logger)
}
CloisterCommand.prepareProcess()
LoggingSystem.bootstrap(StreamLogHandler.standardError)
await CloisterCommand.runMain()
