import FuzzTargets

@_cdecl("fuzz_fdinfo_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("fdinfo", argc, argv)
}
