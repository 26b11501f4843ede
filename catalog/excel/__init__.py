"""Excel import and export of catalog lists in the 2017 编制指南 template layout (R8.1, R8.3).

One workbook holds the sheet「信息资源」(one row per catalog entry) and the sheet「信息项」(one row per
data item, tied to its entry by the entry's 序号); a「说明」sheet explains the columns and lists the
allowed values. Cells carry the Chinese labels of the choices; the importer maps them to values.

Import is two steps. `reading.parse_workbook` reads the file and checks what can be checked without the
database (container, sheets, headers, merged cells, formulas, cell types and value lists, references between
the sheets); `validation.validate_import` adds what needs the database (classification codes, existing entries,
the caller's department, `catalog.validation.entry_problems`). `importing.import_catalog` saves only when both
found nothing, all rows in one transaction: a file is imported completely or not at all.

columns      the template's sheets and columns, the choices' Chinese value lists
container    refuses what is not a sane .xlsx before openpyxl opens it
reading      the one reading skeleton of every workbook import (`read_upload`: container, workbook opened with
             formulas seen, sheets, merged cells, broken XML; `data_rows`: non-blank rows up to a limit, every
             formula cell refused on its cell; `read_header`, `cell_value`) and the catalog parse (no database)
validation   checks a parsed workbook against the database (writes nothing)
importing    saves a checked workbook, all or nothing, audited
writing      writes entries in the template layout (styles, drop-downs, the「说明」sheet)
exports      the blank template, a department's list and the master catalog as files, audited
responsibility  a department's responsibility list as a workbook, audited
demands      a department's demand list as a workbook: the same reader and writer, its own sheet
"""
