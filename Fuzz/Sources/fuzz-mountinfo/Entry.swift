import FuzzTargets

@_cdecl("fuzz_mountinfo_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("mountinfo", argc, argv)
}
