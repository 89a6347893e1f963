// The one library product: `import RNNRT` brings in everything public.
@_exported import RNNRTCore
@_exported import RNNRTCheckpoints
@_exported import RNNRTLayers
@_exported import RNNRTGraph
@_exported import RNNRTONNX
