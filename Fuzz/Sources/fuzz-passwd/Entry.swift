import FuzzTargets

@_cdecl("fuzz_passwd_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("passwd", argc, argv)
}
