// Every test suite, in the order the runner runs them. Each is a {name, fn} table ending in {0}.
SUITE(ops_tests)
SUITE(safetensors_tests)
SUITE(args_tests)
SUITE(rng_tests)
SUITE(optim_tests)
SUITE(checkpoint_tests)
SUITE(physics_tests)
SUITE(envs_tests)
