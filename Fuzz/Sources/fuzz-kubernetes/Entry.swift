import FuzzTargets

@_cdecl("fuzz_kubernetes_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzTargets.main("kubernetes", argc, argv)
}
