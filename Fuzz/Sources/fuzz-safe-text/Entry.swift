import FuzzTargets

@_cdecl("fuzz_safe_text_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("safe-text", argc, argv)
}
