"""What the SPORCO comparisons (sporco_cbpdn.py, sporco_cbpdndl.py) share: one thread everywhere,
and SPORCO imported from its source tree on Debian's packages.

    import sporco_env
    sporco_env.one_thread()                 # before numpy is imported
    ...
    sporco, signal, util, cbpdn, fftlib = sporco_env.import_sporco(args.sporco,
                                                                   "sporco.admm.cbpdn")
"""
import importlib
import os
import sys

_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def one_thread():
    """One thread for every library numpy or SPORCO may use; re-executes the script once without
    the OpenBLAS overrides, as sklearn_lasso.py does (they slow a current numpy). Call it before
    numpy is imported."""
    threads = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                "NUMEXPR_NUM_THREADS")}
    if any(k in os.environ for k in _OVERRIDES):
        env = {k: v for k, v in os.environ.items() if k not in _OVERRIDES}
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(env, **threads))
    os.environ.update(threads)


def import_sporco(tree, module):
    """SPORCO from the source tree `tree` (holding sporco/__init__.py) and its `module` (e.g.
    "sporco.admm.cbpdn"), with pyFFTW on one thread, and the FFT library's name; prints what was
    found. Exits the script with
    status 0 ("skipped") when there is no usable tree: SPORCO is an optional extra."""
    if not os.path.isfile(os.path.join(tree, "sporco", "__init__.py")):
        print("SPORCO not found, skipped (give its source tree with --sporco DIR or SPORCO_DIR)")
        raise SystemExit(0)
    # SPORCO >= 0.2.2 reads images with imageio.v3, which Debian's imageio 2.4 lacks; its imread
    # reads these PNGs the same way.
    import imageio
    try:
        import imageio.v3  # noqa: F401
    except ImportError:
        sys.modules["imageio.v3"] = imageio
        imageio.v3 = imageio
    import numpy as np

    sys.path.insert(0, os.path.abspath(tree))
    try:
        import sporco
        import sporco.fft
        import sporco.linalg
        from sporco import signal, util
        mod = importlib.import_module(module)
    except ImportError as err:
        print("SPORCO at %s could not be imported (%s), skipped" % (tree, err))
        raise SystemExit(0)
    sporco.fft.pyfftw_threads = 1  # read by sporco.fft's FFT wrappers at every call
    fftlib = ("pyfftw %s" % __import__("pyfftw").__version__) if sporco.fft.have_pyfftw \
        else "numpy.fft %s" % np.__version__
    print("SPORCO %s from %s, FFT: %s (%d thread), numexpr: %s" %
          (sporco.__version__, tree, fftlib, sporco.fft.pyfftw_threads,
           sporco.linalg.have_numexpr))
    return sporco, signal, util, mod, fftlib
