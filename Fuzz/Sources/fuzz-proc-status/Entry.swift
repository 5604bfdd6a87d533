import FuzzTargets

@_cdecl("fuzz_proc_status_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("proc-status", argc, argv)
}
