import RNNRTCLI

RNNRTCommand.main()
