"""edgerun.runtime"""
