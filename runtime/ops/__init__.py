"""edgerun.runtime.ops"""
