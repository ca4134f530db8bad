"""edgerun.schema"""
