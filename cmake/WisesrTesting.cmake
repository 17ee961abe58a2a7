# wisesr_add_mpi_test(NAME NP TARGET [ARGS...]): run TARGET under `mpirun -np NP` on the CPU.
# Ranks may outnumber cores (--oversubscribe); root is allowed (CI containers run as root); every MPI
# test has a TIMEOUT because a broken collective deadlocks instead of failing.
set(WISESR_MPI_TEST_TIMEOUT 300 CACHE STRING "Timeout (s) of each multi-rank test")

function(wisesr_add_mpi_test name np target)
  add_test(NAME ${name}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} --oversubscribe ${MPIEXEC_PREFLAGS}
                   $<TARGET_FILE:${target}> ${MPIEXEC_POSTFLAGS} ${ARGN})
  set_tests_properties(${name} PROPERTIES
    TIMEOUT ${WISESR_MPI_TEST_TIMEOUT}
    PROCESSORS ${np}
    LABELS mpi
    ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMP_NUM_THREADS=1")
endfunction()
