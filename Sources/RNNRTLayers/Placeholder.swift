enum LayersPlaceholder {}
