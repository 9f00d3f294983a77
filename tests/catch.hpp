// Catch2 v2 (Debian's 2.13) or v3, whichever the build found.
#pragma once
#if MLCSC_CATCH_V3
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
