import ArgumentParser
import CloisterAdmission
import Testing

@testable import CloisterCommands

@Suite("cloister serve arguments")
struct ServeCommandTests {
    @Test func defaultsToLoopback() throws {
        let command = try ServeCommand.parse([])
        let address = try #require(ServeConfiguration.parseListen(command.listen))
        #expect(address.host == "127.0.0.1")
        #expect(address.port == 9464)
        #expect(ServeConfiguration.isLoopback(address.host))
        #expect(!command.mutate)
        #expect(command.maxBodyBytes == 1 << 20)
        #expect(command.rescanNice == 10)
        #expect(try ServeCommand.parse(["--rescan-nice", "19"]).rescanNice == 19)
        #expect(try ServeCommand.parse(["--rescan-nice", "0"]).rescanNice == 0)
    }

    @Test(arguments: [
        ("127.0.0.1:9464", "127.0.0.1", 9464, true), ("[::1]:80", "::1", 80, true), (":9000", "127.0.0.1", 9000, true),
        ("0.0.0.0:9464", "0.0.0.0", 9464, false), ("10.1.2.3:1", "10.1.2.3", 1, false), ("127.1.2.3:5", "127.1.2.3", 5, true),
    ])
    func listenAddresses(text: String, host: String, port: Int, loopback: Bool) throws {
        let address = try #require(ServeConfiguration.parseListen(text))
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(ServeConfiguration.isLoopback(address.host) == loopback)
    }

    @Test(arguments: [
        ["--listen", "nohost"], ["--listen", "1.2.3.4:70000"], ["--tls-cert", "c.pem"], ["--tls-key", "k.pem"],
        ["--runtime-class", "gvisor"], ["--runtime-class", "gvisor=Not_A_DNS_Name"], ["--interval", "0"],
        ["--max-body-bytes", "0"], ["--max-concurrent-requests", "0"], ["--output", "x.json"],
        ["--rescan-nice", "20"], ["--rescan-nice", "-1"], ["--rescan-nice", "high"],
    ])
    func usageErrors(arguments: [String]) {
        #expect(throws: (any Error).self) { try ServeCommand.parse(arguments) }
    }

    @Test func runtimeClassesOverrideAndAdd() throws {
        let command = try ServeCommand.parse(["--runtime-class", "gvisor=gvisor-prod", "--runtime-class", "vm=kata-qemu"])
        let classes = try command.runtimeClasses()
        #expect(classes["gvisor"] == "gvisor-prod")
        #expect(classes["vm"] == "kata-qemu")
        #expect(classes["kata"] == "kata")
    }
}
