"""exceptions"""
