import FuzzTargets

@_cdecl("fuzz_socket_table_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("socket-table", argc, argv)
}
