"""edgerun.platforms"""
