print("cae-init")
