import FuzzTargets

@_cdecl("fuzz_firecracker_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("firecracker", argc, argv)
}
