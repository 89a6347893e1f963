// Placeholder: kernels land here.
enum KernelsPlaceholder {}
