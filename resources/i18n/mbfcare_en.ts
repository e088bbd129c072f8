<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US" sourcelanguage="vi_VN">
<context>
    <name>App</name>
    <message>
        <location filename="../../mbfcare/ui/app.py" line="+49"/>
        <source>Không mở được cơ sở dữ liệu</source>
        <translation>Cannot open the database</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../mbfcare/ui/main_window.py" line="+86"/>
        <source>Làm &amp;mới</source>
        <translation>&amp;Refresh</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Đọc lại dữ liệu từ cơ sở dữ liệu</source>
        <translation>Read the data again from the database</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Thoát</source>
        <translation>&amp;Quit</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Đóng MBF Care</source>
        <translation>Close MBF Care</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Giới thiệu</source>
        <translation>&amp;About</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>&amp;Tệp</source>
        <translation>&amp;File</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Trợ &amp;giúp</source>
        <translation>&amp;Help</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Đang đọc dữ liệu…</source>
        <translation>Reading data…</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Chào mừng đến với MBF Care</source>
        <translation>Welcome to MBF Care</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Cơ sở dữ liệu chưa có chương trình chăm sóc khách hàng nào.
Tạo chương trình theo văn bản CSKH 2017 của MobiFone KV5 (2 nhóm, 4 đợt) để bắt đầu, hoặc tạo từ tệp TOML bằng lệnh mbfcare programme create --config TỆP.</source>
        <translation>The database has no customer-care programme yet.
Create the programme of MobiFone Region 5&apos;s CSKH 2017 document (2 groups, 4 batches) to start, or create one from a TOML file with the command mbfcare programme create --config FILE.</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Tạo chương trình theo văn bản (CSKH 2017 – KV5)</source>
        <translation>Create the programme from the document (CSKH 2017 – Region 5)</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>CSDL: {db}</source>
        <translation>Database: {db}</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Chưa có chương trình</source>
        <translation>No programme yet</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Thuê bao đã lưu: {count}</source>
        <translation>Subscribers stored: {count}</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>{name} – {region}</source>
        <translation>{name} – {region}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{n} chương trình</source>
        <translation>{n} programmes</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>Năm:</source>
        <translation>Year:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Khu vực:</source>
        <translation>Region:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Địa bàn:</source>
        <translation>Area:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{n} tỉnh/thành: {names}</source>
        <translation>{n} provinces: {names}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Mức cước căn cứ:</source>
        <translation>Charge basis:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Nhóm:</source>
        <translation>Groups:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Đợt {number} – {month}</source>
        <translation>Batch {number} – {month}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Đợt (tháng chăm sóc):</source>
        <translation>Batches (care month):</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>mỗi chu kỳ cước n-3, n-4, n-5 đều đạt ngưỡng (lấy mức thấp nhất)</source>
        <translation>each billing cycle n-3, n-4, n-5 meets the bound (the lowest counts)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>trung bình các chu kỳ cước n-3, n-4, n-5</source>
        <translation>the average of billing cycles n-3, n-4, n-5</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Không đọc được dữ liệu.</source>
        <translation>The data could not be read.</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Đã tạo chương trình số {id}.</source>
        <translation>Programme {id} created.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Không tạo được chương trình</source>
        <translation>The programme could not be created</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Giới thiệu MBF Care</source>
        <translation>About MBF Care</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>MBF Care {version}

Quản lý chương trình chăm sóc khách hàng và trao quà tặng của MobiFone (Khu vực 5).

Cơ sở dữ liệu: {db}</source>
        <translation>MBF Care {version}

Customer-care and gift programmes of MobiFone (Region 5).

Database: {db}</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Lỗi không mong đợi: {error}. Hãy báo cho bộ phận IT.</source>
        <translation>Unexpected error: {error}. Please tell the IT department.</translation>
    </message>
</context>
</TS>
