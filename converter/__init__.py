"""edgerun.converter"""
