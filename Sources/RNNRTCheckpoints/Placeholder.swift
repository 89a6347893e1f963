enum CheckpointsPlaceholder {}
